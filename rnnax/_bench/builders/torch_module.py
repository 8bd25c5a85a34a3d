"""PyTorch's ``nn.LSTM`` / ``nn.GRU`` on rnnax's weights (CPU or CUDA), its thread count, and
what autograd keeps for the backward pass."""

from __future__ import annotations

import argparse
import time
from typing import Any

from rnnax import _machine
from rnnax._bench._impl import Config, Impl, as_numpy
from rnnax._bench._weights import framework_weights


def torch_setup(args: argparse.Namespace, jax: Any) -> tuple[str | None, dict[str, Any]]:
    if args.impls is not None and "torch" not in args.impls:
        return None, {"available": None, "reason": "not selected (--impls)"}
    try:
        import torch
    except ImportError:
        return None, {"available": False}
    threads = args.torch_threads or _machine.usable_cores()
    torch.set_num_threads(threads)
    device = "cuda" if jax.default_backend() == "gpu" and torch.cuda.is_available() else "cpu"
    info = {
        "available": True,
        "threads": torch.get_num_threads(),
        "device": device,
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
    }
    if device == "cuda":
        info["cudnn"] = torch.backends.cudnn.version()
        info["gpu"] = torch.cuda.get_device_name()
        # TF32 settings change cuDNN's float32 RNN speed; JAX's default float32 matmul
        # precision on GPU may use TF32 too (recorded in machine.jax_default_matmul_precision).
        info["cudnn_allow_tf32"] = bool(torch.backends.cudnn.allow_tf32)
        info["matmul_allow_tf32"] = bool(torch.backends.cuda.matmul.allow_tf32)
    return device, info


def build_torch(cfg: Config, jax: Any, params: Any, xs: Any, device: str) -> Impl:
    import numpy as np
    import torch

    impl = Impl("torch", "torch", {"device": device})
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[
        cfg.dtype
    ]
    module_type = torch.nn.LSTM if cfg.cell == "lstm" else torch.nn.GRU
    module = None
    try:
        from rnnax.interop import to_torch

        module, impl.weights = to_torch(framework_weights(params), batch_first=True), "shared"
    except Exception:
        pass
    if module is None:
        torch.manual_seed(2)
        module = module_type(cfg.inputs, cfg.hidden, batch_first=True)
    module = module.to(device=device, dtype=dtype)
    if device == "cuda":
        module.flatten_parameters()
    x = torch.from_numpy(np.array(as_numpy(jax, xs))).to(device=device, dtype=dtype)
    x_grad = x.clone().requires_grad_(True)
    module_params = list(module.parameters())
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def forward() -> Any:
        with torch.no_grad():
            ys = module(x)[0]
        sync()
        return ys

    def fwdbwd() -> None:
        for tensor in (*module_params, x_grad):
            tensor.grad = None
        ys = module(x_grad)[0]
        ys.float().square().sum().backward()
        sync()

    for mode, call in (("fwd", forward), ("fwdbwd", fwdbwd)):
        if mode not in cfg.modes:
            continue
        start = time.perf_counter()
        call()
        impl.info[mode] = {"first_call_s": time.perf_counter() - start}
        impl.calls[mode] = call
    impl.output = forward().float().cpu().numpy()
    if "fwdbwd" in cfg.modes:
        impl.info["fwdbwd"]["memory"] = _torch_memory(torch, module, module_params, x_grad, device)
    return impl


def _torch_memory(
    torch: Any, module: Any, module_params: list[Any], x: Any, device: str
) -> dict[str, Any]:
    """What torch keeps for the backward pass: the tensors autograd saves (deduplicated by
    storage, parameters and input excluded); on CUDA also the allocator's peak."""
    inputs = {t.untyped_storage().data_ptr() for t in (*module_params, x)}
    saved: dict[int, int] = {}

    def pack(tensor: Any) -> Any:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in inputs:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    argument_bytes = sum(t.numel() * t.element_size() for t in (*module_params, x))
    out: dict[str, Any] = {"kind": "torch_saved_tensors", "argument_bytes": argument_bytes}
    try:
        if device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        for tensor in (*module_params, x):
            tensor.grad = None
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            ys = module(x)[0]
        out["output_bytes"] = ys.numel() * ys.element_size()
        ys.float().square().sum().backward()
        out["saved_for_backward_bytes"] = sum(saved.values())
        if device == "cuda":
            torch.cuda.synchronize()
            out["cuda_peak_above_baseline_bytes"] = torch.cuda.max_memory_allocated() - base
    except Exception as error:
        return {"kind": "unavailable", "reason": f"{type(error).__name__}: {error}"}
    return out
