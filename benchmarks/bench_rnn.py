"""How fast is each rnnax strategy, beside flax (linen, nnx), equinox and PyTorch?

The same as ``rnnax bench`` (the code is rnnax._bench; see ``rnnax bench --help``):

    python benchmarks/bench_rnn.py --quick
    python benchmarks/bench_rnn.py --cells lstm,gru --sweep T,B,H

Results go to ``benchmarks/results/<device>/<tag>.{json,md,png}``.
"""

from __future__ import annotations

import sys

from rnnax._bench import main

if __name__ == "__main__":
    sys.exit(main(prog="bench_rnn.py"))
