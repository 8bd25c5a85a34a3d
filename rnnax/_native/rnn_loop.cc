// The time loops of the LSTM and both GRU forms, forward and backward, as XLA FFI handlers.
//
// All the arithmetic of a call runs here, on oneDNN (its dnnl_* symbols resolve at load time to
// libdnnl.so.3, loaded globally by rnnax._native first): per step the recurrent product on the
// matmul primitive with W_h packed once per call, and the fused gate math; per chunk of about
// 512 rows (steps x batch) the input projection, and in the backward call the input and weight
// gradients, on dnnl_sgemm. Every buffer is float32 and row-major; leading axes beyond the
// documented ones are independent problems (jax.vmap), run one after the other.
//
// Sequences are right-padded: step t of row b is valid if t < lengths[b]. A padded step neither
// reads nor writes the carry, and its outputs (ys, saved activations, gate gradients) are 0.

// Python.h first, as it asks: the library is also an (empty) Python module, so that tools
// which import every module of the package can import it. rnnax loads it with ctypes.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <string>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

extern "C" {
void omp_set_num_threads(int) __attribute__((weak));
}

namespace {

enum Kind : int64_t { kLstm = 0, kGru = 1, kGruResetAfter = 2 };

#define VEC_FN __attribute__((target_clones("avx512f", "avx2", "default")))
#define R __restrict
#define INL static inline __attribute__((always_inline))

INL float bits_to_float(int32_t i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}

// exp(x) for x in [-87, 88], about 1 ulp (Cephes' expf), written so that loops vectorize.
INL float fast_exp(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // Round to nearest by adding and removing 1.5 * 2^23 (vectorizes without SSE4.1).
  float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n: n is in [-126, 127] after the clamp.
  return p * bits_to_float((static_cast<int32_t>(n) + 127) << 23);
}

INL float sigmoid(float x) { return 1.0f / (1.0f + fast_exp(-x)); }

// tanh: Cephes' tanhf polynomial below |x| = 0.625, 1 - 2 / (exp(2|x|) + 1) above it.
INL float fast_tanh(float x) {
  float a = x < 0 ? -x : x;
  float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  float small = p * z * x + x;
  float e = fast_exp(2.0f * (a > 9.0f ? 9.0f : a));
  float big = 1.0f - 2.0f / (e + 1.0f);
  big = x < 0 ? -big : big;
  return a < 0.625f ? small : big;
}

// Rounds to the nearest bfloat16 (ties to even) and back: the bfloat16 state of the scan.
INL float round_bf16_always(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// float32 -> bfloat16 bits, round to nearest even.
VEC_FN void to_bf16(int64_t n, const float* R x, uint16_t* R out) {
  for (int64_t j = 0; j < n; ++j) {
    uint32_t u;
    std::memcpy(&u, x + j, 4);
    out[j] = static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
  }
}

template <bool kBf16>
INL float round_state(float x) {
  if constexpr (kBf16) return round_bf16_always(x);
  return x;
}

// ------------------------------------------------------------------ pointwise, one batch row

// LSTM forward. a = xp + ah (+ bh); saves i, f, g, o (activated), c_prev, tanh(c').
template <bool kBf16>
INL void lstm_fwd_row_impl(int64_t H, const float* R xp, const float* R ah, const float* R bh,
                           const float* R c, float* R h_out, float* R c_out, float* R y,
                           float* R saved) {
  // Separate streams per gate block, so that every loop access is a plain contiguous one.
  const float *R xi = xp, *R xf = xp + H, *R xg = xp + 2 * H, *R xo = xp + 3 * H;
  const float *R hi = ah, *R hf = ah + H, *R hg = ah + 2 * H, *R ho = ah + 3 * H;
  const float *R bi = bh, *R bf = bh + H, *R bg = bh + 2 * H, *R bo = bh + 3 * H;
  float *R si = saved, *R sf = saved + H, *R sg = saved + 2 * H, *R so = saved + 3 * H;
  float *R sc = saved + 4 * H, *R st = saved + 5 * H;
  for (int64_t j = 0; j < H; ++j) {
    si[j] = sigmoid(xi[j] + hi[j] + bi[j]);
    sf[j] = sigmoid(xf[j] + hf[j] + bf[j]);
  }
  for (int64_t j = 0; j < H; ++j) {
    sg[j] = fast_tanh(xg[j] + hg[j] + bg[j]);
    so[j] = sigmoid(xo[j] + ho[j] + bo[j]);
  }
  for (int64_t j = 0; j < H; ++j) {
    float cn = round_state<kBf16>(sf[j] * c[j] + si[j] * sg[j]);
    float tc = fast_tanh(cn);
    float hn = round_state<kBf16>(so[j] * tc);
    sc[j] = c[j];
    st[j] = tc;
    c_out[j] = cn;
    h_out[j] = hn;
    y[j] = hn;
  }
}

VEC_FN void lstm_fwd_row(int64_t H, const float* R xp, const float* R ah, const float* R bh,
                         const float* R c, float* R h_out, float* R c_out, float* R y, float* R saved,
                         bool bf16) {
  if (bf16)
    lstm_fwd_row_impl<true>(H, xp, ah, bh, c, h_out, c_out, y, saved);
  else
    lstm_fwd_row_impl<false>(H, xp, ah, bh, c, h_out, c_out, y, saved);
}

// LSTM backward: dgates = d(a) from dh (total) and the carried dc; dc becomes dc_prev.
VEC_FN void lstm_bwd_row(int64_t H, const float* R saved, const float* R dh, const float* R dy,
                         float* R dc, float* R da) {
  for (int64_t j = 0; j < H; ++j) {
    float i = saved[j], f = saved[H + j], g = saved[2 * H + j], o = saved[3 * H + j];
    float cp = saved[4 * H + j], tc = saved[5 * H + j];
    float dht = dh[j] + dy[j];
    float dct = dc[j] + dht * o * (1.0f - tc * tc);
    da[j] = dct * g * i * (1.0f - i);
    da[H + j] = dct * cp * f * (1.0f - f);
    da[2 * H + j] = dct * i * (1.0f - g * g);
    da[3 * H + j] = dht * tc * o * (1.0f - o);
    dc[j] = dct * f;
  }
}

// Reset-after GRU forward: ah = h W_h + b_h; saves z, r, n, ah_n.
template <bool kBf16>
INL void gru_ra_fwd_row_impl(int64_t H, const float* R xp, const float* R ah, const float* R bh,
                           const float* R h, float* R h_out, float* R y, float* R saved) {
  for (int64_t j = 0; j < H; ++j) {
    float z = sigmoid(xp[j] + (ah[j] + bh[j]));
    float r = sigmoid(xp[H + j] + (ah[H + j] + bh[H + j]));
    float ahn = ah[2 * H + j] + bh[2 * H + j];
    float n = fast_tanh(xp[2 * H + j] + r * ahn);
    float hn = (1.0f - z) * h[j] + z * n;
    hn = round_state<kBf16>(hn);
    saved[j] = z;
    saved[H + j] = r;
    saved[2 * H + j] = n;
    saved[3 * H + j] = ahn;
    h_out[j] = hn;
    y[j] = hn;
  }
}

VEC_FN void gru_ra_fwd_row(int64_t H, const float* R xp, const float* R ah, const float* R bh,
                           const float* R h, float* R h_out, float* R y, float* R saved, bool bf16) {
  if (bf16)
    gru_ra_fwd_row_impl<true>(H, xp, ah, bh, h, h_out, y, saved);
  else
    gru_ra_fwd_row_impl<false>(H, xp, ah, bh, h, h_out, y, saved);
}

VEC_FN void gru_ra_bwd_row(int64_t H, const float* R saved, const float* R h, const float* R dh,
                           const float* R dy, float* R dh_direct, float* R dax, float* R dah_n) {
  for (int64_t j = 0; j < H; ++j) {
    float z = saved[j], r = saved[H + j], n = saved[2 * H + j], ahn = saved[3 * H + j];
    float dht = dh[j] + dy[j];
    float dz = dht * (n - h[j]) * z * (1.0f - z);
    float dn = dht * z * (1.0f - n * n);
    dax[j] = dz;
    dax[H + j] = dn * ahn * r * (1.0f - r);
    dax[2 * H + j] = dn;
    dah_n[j] = dn * r;
    dh_direct[j] = dht * (1.0f - z);
  }
}

// The explainer's GRU, forward, first half: z, r from a_zr; writes r * h for the candidate.
VEC_FN void gru_fwd_zr_row(int64_t H, const float* R xp, const float* R azr, const float* R bh,
                           const float* R h, float* R saved, float* R rh) {
  for (int64_t j = 0; j < H; ++j) {
    float z = sigmoid(xp[j] + (azr[j] + bh[j]));
    float r = sigmoid(xp[H + j] + (azr[H + j] + bh[H + j]));
    saved[j] = z;
    saved[H + j] = r;
    rh[j] = r * h[j];
  }
}

template <bool kBf16>
INL void gru_fwd_n_row_impl(int64_t H, const float* R xp, const float* R an, const float* R bh,
                          const float* R h, float* R h_out, float* R y, float* R saved) {
  for (int64_t j = 0; j < H; ++j) {
    float z = saved[j];
    float n = fast_tanh(xp[2 * H + j] + (an[j] + bh[2 * H + j]));
    float hn = (1.0f - z) * h[j] + z * n;
    hn = round_state<kBf16>(hn);
    saved[2 * H + j] = n;
    h_out[j] = hn;
    y[j] = hn;
  }
}

VEC_FN void gru_fwd_n_row(int64_t H, const float* R xp, const float* R an, const float* R bh,
                          const float* R h, float* R h_out, float* R y, float* R saved, bool bf16) {
  if (bf16)
    gru_fwd_n_row_impl<true>(H, xp, an, bh, h, h_out, y, saved);
  else
    gru_fwd_n_row_impl<false>(H, xp, an, bh, h, h_out, y, saved);
}

// First half of its backward: dz, dn (into dax), the direct part of dh_prev.
VEC_FN void gru_bwd_zn_row(int64_t H, const float* R saved, const float* R h, const float* R dh,
                           const float* R dy, float* R dh_direct, float* R dax) {
  for (int64_t j = 0; j < H; ++j) {
    float z = saved[j], n = saved[2 * H + j];
    float dht = dh[j] + dy[j];
    dax[j] = dht * (n - h[j]) * z * (1.0f - z);
    dax[2 * H + j] = dht * z * (1.0f - n * n);
    dh_direct[j] = dht * (1.0f - z);
  }
}

// Second half: d(r h) -> dr and its direct share of dh_prev.
VEC_FN void gru_bwd_r_row(int64_t H, const float* R saved, const float* R h, const float* R drh,
                          float* R dh_direct, float* R dax) {
  for (int64_t j = 0; j < H; ++j) {
    float r = saved[H + j];
    dax[H + j] = drh[j] * h[j] * r * (1.0f - r);
    dh_direct[j] += drh[j] * r;
  }
}

// --------------------------------------------------------------------------- the loops

void gemm(char ta, char tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (beta == 0.0f)
      for (int64_t m = 0; m < M; ++m) std::memset(C + m * ldc, 0, N * sizeof(float));
    return;
  }
  dnnl_sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}

int64_t gate_width(int64_t kind, int64_t H) { return kind == kLstm ? 4 * H : 3 * H; }
int64_t saved_width(int64_t kind, int64_t H) {
  return kind == kLstm ? 6 * H : (kind == kGruResetAfter ? 4 * H : 3 * H);
}

void set_threads(int64_t threads) {
  if (threads > 0 && omp_set_num_threads != nullptr) omp_set_num_threads(static_cast<int>(threads));
}

// The per-step recurrent product C [M, N] (+)= A [M, K] W [K, N] on oneDNN's matmul primitive,
// with W reordered once per call into the layout the primitive prefers (so it is not re-packed
// at every step, as a plain GEMM would). W is read from float32 at w: W[k][n] = w[k * ldw + n],
// or, transposed, w[n * ldw + k]. In bfloat16 mode A and W are bfloat16 (A converted from its
// float32 rows, exact for the bfloat16 state) and accumulate in float32, on AMX where the CPU
// has it.
class PackedGemm {
 public:
  PackedGemm(const dnnl::engine& engine, int64_t M, int64_t N, int64_t K, const float* w,
             int64_t ldw, bool transposed, int64_t lda, int64_t ldc, bool bf16, bool accumulate)
      : M_(M), N_(N), K_(K), lda_(lda), ldc_(ldc), bf16_(bf16), accumulate_(accumulate),
        w_(w), ldw_(ldw), transposed_(transposed) {
    if (M == 0 || N == 0 || K == 0) return;  // degenerate: the plain GEMM handles it
    using dt = dnnl::memory::data_type;
    const dt in = bf16 ? dt::bf16 : dt::f32;
    dnnl::memory::desc a_md = bf16 ? dnnl::memory::desc({M, K}, in, {K, 1})
                                   : dnnl::memory::desc({M, K}, in, {lda, 1});
    dnnl::memory::desc w_any({K, N}, in, dnnl::memory::format_tag::any);
    dnnl::memory::desc c_md({M, N}, dt::f32, {ldc, 1});
    dnnl::primitive_attr attr;
    if (accumulate) {
      dnnl::post_ops ops;
      ops.append_sum(1.0f);
      attr.set_post_ops(ops);
    }
    dnnl::matmul::primitive_desc pd(engine, a_md, w_any, c_md, attr);
    dnnl::memory::desc w_user({K, N}, dt::f32,
                              transposed ? dnnl::memory::dims{1, ldw} : dnnl::memory::dims{ldw, 1});
    dnnl::memory user(w_user, engine, const_cast<float*>(w));
    packed_ = dnnl::memory(pd.weights_desc(), engine);
    dnnl::stream stream(engine);
    dnnl::reorder(user, packed_).execute(stream, user, packed_);
    stream.wait();
    a_ = dnnl::memory(a_md, engine, DNNL_MEMORY_NONE);
    c_ = dnnl::memory(c_md, engine, DNNL_MEMORY_NONE);
    if (bf16) a_bf16_.resize(M * K);
    matmul_ = dnnl::matmul(pd);
    ready_ = true;
  }

  void run(dnnl::stream& stream, const float* A, float* C) {
    if (!ready_) {
      gemm('N', transposed_ ? 'T' : 'N', M_, N_, K_, A, lda_, w_, ldw_,
           accumulate_ ? 1.0f : 0.0f, C, ldc_);
      return;
    }
    if (bf16_) {
      for (int64_t m = 0; m < M_; ++m) to_bf16(K_, A + m * lda_, a_bf16_.data() + m * K_);
      a_.set_data_handle(a_bf16_.data());
    } else {
      a_.set_data_handle(const_cast<float*>(A));
    }
    c_.set_data_handle(C);
    matmul_.execute(stream, {{DNNL_ARG_SRC, a_}, {DNNL_ARG_WEIGHTS, packed_}, {DNNL_ARG_DST, c_}});
  }

 private:
  int64_t M_, N_, K_, lda_, ldc_;
  bool bf16_, accumulate_;
  const float* w_;
  int64_t ldw_;
  bool transposed_, ready_ = false;
  dnnl::memory packed_, a_, c_;
  dnnl::matmul matmul_;
  std::vector<uint16_t> a_bf16_;
};

// Column sums of a [B, N] block (row stride ld) added to out[N].
void add_column_sums(int64_t B, int64_t N, const float* a, int64_t ld, float* R out) {
  for (int64_t b = 0; b < B; ++b) {
    const float* R row = a + b * ld;
    for (int64_t n = 0; n < N; ++n) out[n] += row[n];
  }
}

// Fills each of the B rows of a [B, N] buffer with v[N].
void fill_rows(int64_t B, int64_t N, const float* v, float* out) {
  for (int64_t b = 0; b < B; ++b) std::memcpy(out + b * N, v, N * sizeof(float));
}

struct Problem {
  int64_t kind, T, B, I, H;
  bool reverse;
};

// Steps per chunk: the input projection and the weight gradients run as one GEMM over a chunk
// of about 512 rows (steps x batch) instead of one per step, on a buffer reused across chunks.
int64_t chunk_steps(int64_t B) { return B >= 512 ? 1 : 512 / (B > 0 ? B : 1); }

// One problem's forward loop. Per step: a_x = b_x + x_t W_x and a_h = h W_h (for the
// explainer's GRU: z and r from h W_h[:, :2H], the candidate from (r h) W_h[:, 2H:]), then the
// gate math. Saves the gates (see saved_width) and the carry h each step read.
void forward_one(const dnnl::engine& engine, const Problem& q, bool bf16, bool save,
                 const float* xs, const float* wx,
                 const float* bx, const float* w, const float* bh, const float* h0,
                 const float* c0, const int32_t* len, float* ys, float* hT, float* cT,
                 float* saved, float* hprev) {
  const int64_t T = q.T, B = q.B, I = q.I, H = q.H, kind = q.kind;
  const int64_t G = gate_width(kind, H), S = saved_width(kind, H);
  const int64_t KT = chunk_steps(B);
  std::vector<float> h(h0, h0 + B * H), hn(B * H), c, cn, axc(KT * B * G), ah(B * G), rh, an;
  int64_t chunk = -1;
  dnnl::stream stream(engine);
  // The recurrent products: h W_h (the explainer's GRU: h W_h[:, :2H] and (r h) W_h[:, 2H:]).
  const bool gru = kind == kGru;
  PackedGemm rec(engine, B, gru ? 2 * H : G, H, w, G, false, H, gru ? 2 * H : G, bf16, false);
  PackedGemm rec_n(engine, gru ? B : 0, H, H, w + 2 * H, G, false, H, H, bf16, false);
  std::vector<float> scratch_saved(save ? 0 : B * S), scratch_hprev(save ? 0 : B * H);
  if (kind == kLstm) {
    c.assign(c0, c0 + B * H);
    cn.resize(B * H);
  }
  if (kind == kGru) {
    rh.resize(B * H);
    an.resize(B * H);
  }
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = q.reverse ? T - 1 - s : s;
    float* y = ys + t * B * H;
    float* sv = save ? saved + t * B * S : scratch_saved.data();
    float* hp = save ? hprev + t * B * H : scratch_hprev.data();
    std::memcpy(hp, h.data(), B * H * sizeof(float));
    if (t / KT != chunk) {  // a_x = b_x + x W_x for all the chunk's steps at once
      chunk = t / KT;
      const int64_t lo = chunk * KT, rows = std::min(KT, T - lo) * B;
      fill_rows(rows, G, bx, axc.data());
      gemm('N', 'N', rows, G, I, xs + lo * B * I, I, wx, G, 1.0f, axc.data(), G);
    }
    const float* ax = axc.data() + (t - chunk * KT) * B * G;
    if (kind == kGru) {
      rec.run(stream, h.data(), ah.data());
      for (int64_t b = 0; b < B; ++b)
        if (t < len[b])
          gru_fwd_zr_row(H, ax + b * G, ah.data() + b * 2 * H, bh, h.data() + b * H,
                         sv + b * S, rh.data() + b * H);
        else
          std::memset(rh.data() + b * H, 0, H * sizeof(float));
      rec_n.run(stream, rh.data(), an.data());
    } else {
      rec.run(stream, h.data(), ah.data());
    }
    for (int64_t b = 0; b < B; ++b) {
      const int64_t o = b * H;
      if (t >= len[b]) {
        std::memcpy(hn.data() + o, h.data() + o, H * sizeof(float));
        if (kind == kLstm) std::memcpy(cn.data() + o, c.data() + o, H * sizeof(float));
        std::memset(y + o, 0, H * sizeof(float));
        std::memset(sv + b * S, 0, S * sizeof(float));
        std::memset(hp + o, 0, H * sizeof(float));
        continue;
      }
      if (kind == kLstm)
        lstm_fwd_row(H, ax + b * G, ah.data() + b * G, bh, c.data() + o, hn.data() + o,
                     cn.data() + o, y + o, sv + b * S, bf16);
      else if (kind == kGruResetAfter)
        gru_ra_fwd_row(H, ax + b * G, ah.data() + b * G, bh, h.data() + o, hn.data() + o,
                       y + o, sv + b * S, bf16);
      else
        gru_fwd_n_row(H, ax + b * G, an.data() + o, bh, h.data() + o, hn.data() + o,
                      y + o, sv + b * S, bf16);
    }
    h.swap(hn);
    if (kind == kLstm) c.swap(cn);
  }
  std::memcpy(hT, h.data(), B * H * sizeof(float));
  std::memcpy(cT, kind == kLstm ? c.data() : h.data(), B * H * sizeof(float));
}

// One problem's backward loop, the forward's steps in the other order. Per step the gates'
// gradient da [B, G] (and, reset-after, the recurrent one dah) stays in a scratch buffer:
// dx_t = da W_x^T, dh_prev = (direct part) + dah W_h^T, and the weight gradients accumulate
// dW_x += x_t^T da, dW_h += h_prev^T dah (the explainer's GRU: (r h_prev)^T for the candidate).
void backward_one(const dnnl::engine& engine, const Problem& q, bool bf16, const float* xs, const float* wx, const float* w,
                  const int32_t* len, const float* saved, const float* hprev, const float* dys,
                  const float* dhT, const float* dcT, float* dxs, float* dwx, float* dw,
                  float* dbx, float* dbh, float* dh0, float* dc0) {
  const int64_t T = q.T, B = q.B, I = q.I, H = q.H, kind = q.kind;
  const int64_t G = gate_width(kind, H), S = saved_width(kind, H);
  const int64_t KT = chunk_steps(B);
  // Per chunk of steps: da [KT, B, G], and the recurrent weights' gradient's own operands.
  std::vector<float> dh(dhT, dhT + B * H), dc, ddir(B * H), dac(KT * B * G), drh, dahc, dahn;
  std::vector<float> rhc;
  if (kind == kLstm) dc.assign(dcT, dcT + B * H);
  if (kind == kGru) {
    drh.resize(B * H);
    rhc.resize(KT * B * H);
  }
  if (kind == kGruResetAfter) {
    dahc.resize(KT * B * G);
    dahn.resize(B * H);
  }
  // The GEMMs over one chunk's rows once all its steps are done.
  auto flush = [&](int64_t chunk) {
    const int64_t lo = chunk * KT, rows = std::min(KT, T - lo) * B;
    const float* hp = hprev + lo * B * H;
    gemm('N', 'T', rows, I, G, dac.data(), G, wx, G, 0.0f, dxs + lo * B * I, I);
    gemm('T', 'N', I, G, rows, xs + lo * B * I, I, dac.data(), G, 1.0f, dwx, G);
    add_column_sums(rows, G, dac.data(), G, dbx);
    if (kind == kLstm) {
      gemm('T', 'N', H, G, rows, hp, H, dac.data(), G, 1.0f, dw, G);
    } else if (kind == kGruResetAfter) {
      gemm('T', 'N', H, G, rows, hp, H, dahc.data(), G, 1.0f, dw, G);
      add_column_sums(rows, G, dahc.data(), G, dbh);
    } else {
      gemm('T', 'N', H, 2 * H, rows, hp, H, dac.data(), G, 1.0f, dw, G);
      gemm('T', 'N', H, H, rows, rhc.data(), H, dac.data() + 2 * H, G, 1.0f, dw + 2 * H, G);
      add_column_sums(rows, G, dac.data(), G, dbh);
    }
  };
  int64_t chunk = -1;
  dnnl::stream stream(engine);
  // dh_prev's products with W_h^T: all of it (LSTM; reset-after, accumulating onto the direct
  // part), or for the explainer's GRU d(r h) = dn W_hn^T and then [dz, dr] W_hzr^T.
  const bool gru = kind == kGru, ra = kind == kGruResetAfter;
  PackedGemm rec(engine, B, H, gru ? 2 * H : G, w, G, true, G, H, bf16, gru || ra);
  PackedGemm rec_n(engine, gru ? B : 0, H, H, w + 2 * H, G, true, G, H, bf16, false);
  std::memset(dwx, 0, I * G * sizeof(float));
  std::memset(dw, 0, H * G * sizeof(float));
  std::memset(dbx, 0, G * sizeof(float));
  std::memset(dbh, 0, G * sizeof(float));
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = q.reverse ? s : T - 1 - s;
    if (t / KT != chunk) {
      if (chunk >= 0) flush(chunk);
      chunk = t / KT;
    }
    const int64_t slot = (t - chunk * KT) * B;
    const float* sv = saved + t * B * S;
    const float* hp = hprev + t * B * H;
    const float* dy = dys + t * B * H;
    float* da = dac.data() + slot * G;
    float* dah = kind == kGruResetAfter ? dahc.data() + slot * G : nullptr;
    float* rh = kind == kGru ? rhc.data() + slot * H : nullptr;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t o = b * H;
      float* dab = da + b * G;
      if (t >= len[b]) {
        std::memset(dab, 0, G * sizeof(float));
        if (kind == kGruResetAfter) std::memset(dah + b * G, 0, G * sizeof(float));
        if (kind == kGru) std::memset(rh + o, 0, H * sizeof(float));
        continue;
      }
      if (kind == kLstm) {
        lstm_bwd_row(H, sv + b * S, dh.data() + o, dy + o, dc.data() + o, dab);
      } else if (kind == kGruResetAfter) {
        float* dn = dahn.data() + o;
        gru_ra_bwd_row(H, sv + b * S, hp + o, dh.data() + o, dy + o, ddir.data() + o, dab, dn);
        std::memcpy(dah + b * G, dab, 2 * H * sizeof(float));
        std::memcpy(dah + b * G + 2 * H, dn, H * sizeof(float));
      } else {
        gru_bwd_zn_row(H, sv + b * S, hp + o, dh.data() + o, dy + o, ddir.data() + o, dab);
        for (int64_t j = 0; j < H; ++j) rh[o + j] = sv[b * S + H + j] * hp[o + j];
      }
    }
    if (kind == kLstm) {
      rec.run(stream, da, ddir.data());
    } else if (kind == kGruResetAfter) {
      rec.run(stream, dah, ddir.data());
    } else {
      // d(r h) = dn W_hn^T, then dr, then [dz, dr] W_hzr^T.
      rec_n.run(stream, da + 2 * H, drh.data());
      for (int64_t b = 0; b < B; ++b)
        if (t < len[b])
          gru_bwd_r_row(H, sv + b * S, hp + b * H, drh.data() + b * H, ddir.data() + b * H,
                        da + b * G);
      rec.run(stream, da, ddir.data());
    }
    for (int64_t b = 0; b < B; ++b)
      if (t < len[b]) std::memcpy(dh.data() + b * H, ddir.data() + b * H, H * sizeof(float));
  }
  if (chunk >= 0) flush(chunk);
  std::memcpy(dh0, dh.data(), B * H * sizeof(float));
  if (kind == kLstm)
    std::memcpy(dc0, dc.data(), B * H * sizeof(float));
  else
    std::memset(dc0, 0, B * H * sizeof(float));
}

int64_t leading(ffi::Span<const int64_t> dims, size_t trailing) {
  int64_t n = 1;
  for (size_t k = 0; k + trailing < dims.size(); ++k) n *= dims[k];
  return n;
}

using F32 = ffi::Buffer<ffi::F32>;
using Out = ffi::ResultBuffer<ffi::F32>;

// xs [..., T, B, I], w_x [..., I, G], b_x [..., G], w_h [..., H, G], b_h [..., G],
// h0, c0 [..., B, H], lengths [..., B].
ffi::Error Forward(F32 xs, F32 wx, F32 bx, F32 w, F32 bh, F32 h0, F32 c0,
                   ffi::Buffer<ffi::S32> lengths, Out ys, Out hT, Out cT, Out saved, Out hprev,
                   int64_t kind, bool reverse, bool bf16, bool save, int64_t threads) {
  auto d = xs.dimensions();
  if (d.size() < 3) return ffi::Error::InvalidArgument("xs must be [..., T, B, I]");
  Problem q{kind, d[d.size() - 3], d[d.size() - 2], d.back(), h0.dimensions().back(), reverse};
  const int64_t T = q.T, B = q.B, I = q.I, H = q.H, P = leading(d, 3);
  const int64_t G = gate_width(kind, H), S = saved_width(kind, H);
  set_threads(threads);
  try {
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    for (int64_t p = 0; p < P; ++p)
      forward_one(engine, q, bf16, save, xs.typed_data() + p * T * B * I, wx.typed_data() + p * I * G,
                bx.typed_data() + p * G, w.typed_data() + p * H * G, bh.typed_data() + p * G,
                h0.typed_data() + p * B * H, c0.typed_data() + p * B * H,
                lengths.typed_data() + p * B, ys->typed_data() + p * T * B * H,
                hT->typed_data() + p * B * H, cT->typed_data() + p * B * H,
                save ? saved->typed_data() + p * T * B * S : nullptr,
                save ? hprev->typed_data() + p * T * B * H : nullptr);
  } catch (const dnnl::error& error) {
    return ffi::Error::Internal(std::string("oneDNN: ") + error.what());
  }
  return ffi::Error::Success();
}

ffi::Error Backward(F32 xs, F32 wx, F32 w, ffi::Buffer<ffi::S32> lengths, F32 saved, F32 hprev,
                    F32 dys, F32 dhT, F32 dcT, Out dxs, Out dwx, Out dw, Out dbx, Out dbh,
                    Out dh0, Out dc0, int64_t kind, bool reverse, bool bf16, int64_t threads) {
  auto d = xs.dimensions();
  if (d.size() < 3) return ffi::Error::InvalidArgument("xs must be [..., T, B, I]");
  Problem q{kind, d[d.size() - 3], d[d.size() - 2], d.back(), dhT.dimensions().back(), reverse};
  const int64_t T = q.T, B = q.B, I = q.I, H = q.H, P = leading(d, 3);
  const int64_t G = gate_width(kind, H), S = saved_width(kind, H);
  set_threads(threads);
  try {
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    for (int64_t p = 0; p < P; ++p)
      backward_one(engine, q, bf16, xs.typed_data() + p * T * B * I, wx.typed_data() + p * I * G,
                 w.typed_data() + p * H * G, lengths.typed_data() + p * B,
                 saved.typed_data() + p * T * B * S, hprev.typed_data() + p * T * B * H,
                 dys.typed_data() + p * T * B * H, dhT.typed_data() + p * B * H,
                 dcT.typed_data() + p * B * H, dxs->typed_data() + p * T * B * I,
                 dwx->typed_data() + p * I * G, dw->typed_data() + p * H * G,
                 dbx->typed_data() + p * G, dbh->typed_data() + p * G,
                 dh0->typed_data() + p * B * H, dc0->typed_data() + p * B * H);
  } catch (const dnnl::error& error) {
    return ffi::Error::Internal(std::string("oneDNN: ") + error.what());
  }
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(RnnaxRnnForward, Forward,
                              ffi::Ffi::Bind()
                                  .Arg<F32>()
                                  .Arg<F32>()
                                  .Arg<F32>()
                                  .Arg<F32>()
                                  .Arg<F32>()
                                  .Arg<F32>()
                                  .Arg<F32>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Ret<F32>()
                                  .Ret<F32>()
                                  .Ret<F32>()
                                  .Ret<F32>()
                                  .Ret<F32>()
                                  .Attr<int64_t>("kind")
                                  .Attr<bool>("reverse")
                                  .Attr<bool>("bf16")
                                  .Attr<bool>("save")
                                  .Attr<int64_t>("threads"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(RnnaxRnnBackward, Backward,
                              ffi::Ffi::Bind()
                                  .Arg<F32>()
                                  .Arg<F32>()
                                  .Arg<F32>()
                                  .Arg<ffi::Buffer<ffi::S32>>()
                                  .Arg<F32>()
                                  .Arg<F32>()
                                  .Arg<F32>()
                                  .Arg<F32>()
                                  .Arg<F32>()
                                  .Ret<F32>()
                                  .Ret<F32>()
                                  .Ret<F32>()
                                  .Ret<F32>()
                                  .Ret<F32>()
                                  .Ret<F32>()
                                  .Ret<F32>()
                                  .Attr<int64_t>("kind")
                                  .Attr<bool>("reverse")
                                  .Attr<bool>("bf16")
                                  .Attr<int64_t>("threads"));

static struct PyModuleDef rnnax_rnn_loop_module = {
    PyModuleDef_HEAD_INIT, "_rnn_loop",
    "The native time loops of rnnax (XLA FFI handlers, loaded through ctypes by rnnax._native).",
    -1, nullptr};

PyMODINIT_FUNC PyInit__rnn_loop(void) { return PyModule_Create(&rnnax_rnn_loop_module); }
