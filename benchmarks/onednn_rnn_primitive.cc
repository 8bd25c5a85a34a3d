// oneDNN's own RNN primitives (LSTM, vanilla GRU, linear-before-reset GRU), timed standalone.
//
// Built and run by benchmarks/onednn_rnn_primitive.py (see there). One JSON object per line per
// (cell, shape, dtype, mode): forward_training (with workspace) and forward_training + backward.
// Weights are created with format_tag::any and reordered once into each primitive's preferred
// layout before timing (a training step keeps them so); diff weights are zeroed inside the timed
// step. Threads come from OMP_NUM_THREADS. Usage: onednn_rnn_primitive [--half] [--reps N]
// (--half runs each shape at batch B/2).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

static engine eng(engine::kind::cpu, 0);
static stream strm(eng);

static memory::format_tag plain_tag(int ndims) {
    return ndims == 3 ? tag::tnc : ndims == 4 ? tag::ldnc : tag::ldigo;
}

// A memory in `md`, filled with reproducible values (seeded by `seed`) through an f32 plain
// memory and a reorder (which also packs weights into the primitive's layout).
static memory make_filled(const memory::desc &md, unsigned seed, float scale) {
    memory m(md, eng);
    memory::dims d = md.get_dims();
    memory::desc plain(d, dt::f32, plain_tag((int)d.size()));
    memory src(plain, eng);
    size_t n = plain.get_size() / sizeof(float);
    float *p = static_cast<float *>(src.get_data_handle());
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> u(-scale, scale);
    for (size_t i = 0; i < n; ++i) p[i] = u(g);
    reorder(src, m).execute(strm, src, m);
    strm.wait();
    return m;
}

static memory make_zero(const memory::desc &md) {
    memory m(md, eng);
    std::memset(m.get_data_handle(), 0, md.get_size());
    return m;
}

struct Shape { int B, T, I, H; };

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static const char *dt_name(dt t) {
    return t == dt::f32 ? "float32" : t == dt::bf16 ? "bfloat16" : "other";
}

static int g_reps = 20, g_warmup = 3;
static const char *g_threads = "unset";

static void emit(const char *cell, const Shape &s, dt d, const char *mode, double ms,
        const std::vector<double> &times, const std::string &impl_f,
        const std::string &impl_b, const char *dw, const char *error) {
    std::printf("{\"cell\": \"%s\", \"B\": %d, \"T\": %d, \"I\": %d, \"H\": %d, "
                "\"dtype\": \"%s\", \"mode\": \"%s\", \"threads\": \"%s\", ",
            cell, s.B, s.T, s.I, s.H, dt_name(d), mode, g_threads);
    if (error) {
        std::printf("\"ms\": null, \"error\": \"%s\"}\n", error);
    } else {
        std::printf("\"ms\": %.4f, \"min_ms\": %.4f, \"reps\": %zu, \"impl_fwd\": \"%s\", "
                    "\"impl_bwd\": \"%s\", \"backward_dtypes\": \"%s\"}\n",
                ms, *std::min_element(times.begin(), times.end()), times.size(),
                impl_f.c_str(), impl_b.c_str(), dw);
    }
    std::fflush(stdout);
}

enum Cell { LSTM, GRU, LBR_GRU };

static void run(Cell cell, const Shape &s, dt d) {
    const char *cname = cell == LSTM ? "lstm" : cell == GRU ? "gru" : "gru_reset_after";
    const int G = cell == LSTM ? 4 : 3;
    const int Gb = cell == GRU ? 3 : 4;
    const bool has_c = cell == LSTM;
    const memory::dim B = s.B, T = s.T, I = s.I, H = s.H;
    auto dir = rnn_direction::unidirectional_left2right;

    memory::desc src_layer({T, B, I}, d, tag::tnc);
    memory::desc src_iter({1, 1, B, H}, d, tag::ldnc);
    memory::desc iter_c({1, 1, B, H}, dt::f32, tag::ldnc);
    memory::desc wl({1, 1, I, G, H}, d, tag::any);
    memory::desc wi({1, 1, H, G, H}, d, tag::any);
    memory::desc bias({1, 1, Gb, H}, dt::f32, tag::ldgo);
    memory::desc dst_layer({T, B, H}, d, tag::tnc);
    memory::desc dst_iter({1, 1, B, H}, d, tag::ldnc);

    // forward_training primitive descriptor
    primitive_desc fpd;
    primitive fwd;
    try {
        if (cell == LSTM) {
            auto pd = lstm_forward::primitive_desc(eng, prop_kind::forward_training, dir,
                    src_layer, src_iter, iter_c, wl, wi, bias, dst_layer, dst_iter, iter_c);
            fpd = pd; fwd = lstm_forward(pd);
        } else if (cell == GRU) {
            auto pd = gru_forward::primitive_desc(eng, prop_kind::forward_training, dir,
                    src_layer, src_iter, wl, wi, bias, dst_layer, dst_iter);
            fpd = pd; fwd = gru_forward(pd);
        } else {
            auto pd = lbr_gru_forward::primitive_desc(eng, prop_kind::forward_training, dir,
                    src_layer, src_iter, wl, wi, bias, dst_layer, dst_iter);
            fpd = pd; fwd = lbr_gru_forward(pd);
        }
    } catch (const dnnl::error &e) {
        std::string msg = std::string("forward primitive creation failed: ") + e.what();
        emit(cname, s, d, "fwd", 0, {}, "", "", "", msg.c_str());
        emit(cname, s, d, "fwdbwd", 0, {}, "", "", "", "forward primitive unavailable");
        return;
    }

    auto q = [](const primitive_desc &pd, int arg) {
        return pd.query_md(query::exec_arg_md, arg);
    };
    const int fwd_args[] = {DNNL_ARG_SRC_LAYER, DNNL_ARG_SRC_ITER, DNNL_ARG_SRC_ITER_C,
            DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_BIAS, DNNL_ARG_DST_LAYER,
            DNNL_ARG_DST_ITER, DNNL_ARG_DST_ITER_C, DNNL_ARG_WORKSPACE};
    std::unordered_map<int, memory> fargs;
    for (int a : fwd_args) {
        memory::desc md = q(fpd, a);
        if (md.get_size() == 0) continue;
        if (a == DNNL_ARG_WORKSPACE || a == DNNL_ARG_DST_LAYER || a == DNNL_ARG_DST_ITER
                || a == DNNL_ARG_DST_ITER_C)
            fargs[a] = make_zero(md);
        else
            fargs[a] = make_filled(md, 1000 + a, a == DNNL_ARG_SRC_LAYER ? 1.0f : 0.1f);
    }
    std::string impl_f = fpd.impl_info_str();

    auto time_it = [&](const std::function<void()> &step) {
        for (int i = 0; i < g_warmup; ++i) step();
        std::vector<double> t;
        for (int i = 0; i < g_reps; ++i) {
            auto t0 = std::chrono::steady_clock::now();
            step();
            auto t1 = std::chrono::steady_clock::now();
            t.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        }
        return t;
    };

    {
        auto t = time_it([&] { fwd.execute(strm, fargs); strm.wait(); });
        emit(cname, s, d, "fwd", median(t), t, impl_f, "", "", nullptr);
    }

    // backward: the first (diff weights, diff data) dtype pair oneDNN accepts; in bfloat16 on
    // oneDNN 3.2 that is float32 diff weights and float32 diff data (bfloat16 diffs refused).
    primitive_desc bpd;
    primitive bwd;
    const char *dw_used = nullptr;
    std::string last_err;
    std::string combo;
    const dt combos[4][2] = {{dt::f32, d}, {d, d}, {dt::f32, dt::f32}, {d, dt::f32}};
    for (auto &cb : combos) {
        dt dw = cb[0], dd = cb[1];  // diff weights dtype, diff data dtype
        memory::desc dsl({T, B, I}, dd, tag::tnc);
        memory::desc dsi({1, 1, B, H}, dd, tag::ldnc);
        memory::desc ddl({T, B, H}, dd, tag::tnc);
        memory::desc ddi({1, 1, B, H}, dd, tag::ldnc);
        memory::desc dwl({1, 1, I, G, H}, dw, tag::any);
        memory::desc dwi({1, 1, H, G, H}, dw, tag::any);
        memory::desc dbias({1, 1, Gb, H}, dt::f32, tag::ldgo);
        try {
            if (cell == LSTM) {
                auto hint = lstm_forward::primitive_desc(fpd.get());
                auto pd = lstm_backward::primitive_desc(eng, prop_kind::backward, dir,
                        src_layer, src_iter, iter_c, wl, wi, bias, dst_layer, dst_iter,
                        iter_c, dsl, dsi, iter_c, dwl, dwi, dbias, ddl, ddi, iter_c, hint);
                bpd = pd; bwd = lstm_backward(pd);
            } else if (cell == GRU) {
                auto hint = gru_forward::primitive_desc(fpd.get());
                auto pd = gru_backward::primitive_desc(eng, prop_kind::backward, dir,
                        src_layer, src_iter, wl, wi, bias, dst_layer, dst_iter, dsl, dsi, dwl,
                        dwi, dbias, ddl, ddi, hint);
                bpd = pd; bwd = gru_backward(pd);
            } else {
                auto hint = lbr_gru_forward::primitive_desc(fpd.get());
                auto pd = lbr_gru_backward::primitive_desc(eng, prop_kind::backward, dir,
                        src_layer, src_iter, wl, wi, bias, dst_layer, dst_iter, dsl, dsi, dwl,
                        dwi, dbias, ddl, ddi, hint);
                bpd = pd; bwd = lbr_gru_backward(pd);
            }
            dw_used = dt_name(dw);
            combo = std::string("diff weights ") + dt_name(dw) + ", diff data " + dt_name(dd);
            break;
        } catch (const dnnl::error &e) {
            last_err = e.what();
        }
        if (d == dt::f32) break;
    }
    if (!dw_used) {
        std::string msg = "backward primitive creation failed: " + last_err;
        emit(cname, s, d, "fwdbwd", 0, {}, "", "", "", msg.c_str());
        return;
    }

    const int bwd_args[] = {DNNL_ARG_SRC_LAYER, DNNL_ARG_SRC_ITER, DNNL_ARG_SRC_ITER_C,
            DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_BIAS, DNNL_ARG_DST_LAYER,
            DNNL_ARG_DST_ITER, DNNL_ARG_DST_ITER_C, DNNL_ARG_WORKSPACE,
            DNNL_ARG_DIFF_SRC_LAYER, DNNL_ARG_DIFF_SRC_ITER, DNNL_ARG_DIFF_SRC_ITER_C,
            DNNL_ARG_DIFF_WEIGHTS_LAYER, DNNL_ARG_DIFF_WEIGHTS_ITER, DNNL_ARG_DIFF_BIAS,
            DNNL_ARG_DIFF_DST_LAYER, DNNL_ARG_DIFF_DST_ITER, DNNL_ARG_DIFF_DST_ITER_C};
    std::unordered_map<int, memory> bargs;
    std::vector<memory> zero_each_step;
    for (int a : bwd_args) {
        memory::desc md = q(bpd, a);
        if (md.get_size() == 0) continue;
        auto it = fargs.find(a);
        if (it != fargs.end() && it->second.get_desc() == md) {
            bargs[a] = it->second;  // shared with forward: src, dst, workspace
        } else if (a == DNNL_ARG_WORKSPACE) {
            emit(cname, s, d, "fwdbwd", 0, {}, "", "", "", "workspace layouts differ");
            return;
        } else if (a == DNNL_ARG_DIFF_WEIGHTS_LAYER || a == DNNL_ARG_DIFF_WEIGHTS_ITER
                || a == DNNL_ARG_DIFF_BIAS) {
            bargs[a] = make_zero(md);
            zero_each_step.push_back(bargs[a]);
        } else if (a == DNNL_ARG_DIFF_SRC_LAYER || a == DNNL_ARG_DIFF_SRC_ITER
                || a == DNNL_ARG_DIFF_SRC_ITER_C) {
            bargs[a] = make_zero(md);
        } else {
            // weights in the backward layout (reordered once here), diff_dst values.
            bargs[a] = make_filled(md, 1000 + a,
                    a == DNNL_ARG_DIFF_DST_LAYER ? 1.0f : 0.1f);
        }
    }
    std::string impl_b = bpd.impl_info_str();
    auto t = time_it([&] {
        fwd.execute(strm, fargs);
        for (auto &m : zero_each_step)
            std::memset(m.get_data_handle(), 0, m.get_desc().get_size());
        bwd.execute(strm, bargs);
        strm.wait();
    });
    emit(cname, s, d, "fwdbwd", median(t), t, impl_f, impl_b, combo.c_str(), nullptr);
}

int main(int argc, char **argv) {
    bool half = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--half")) half = true;
        else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) g_reps = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--warmup") && i + 1 < argc) g_warmup = std::atoi(argv[++i]);
    }
    if (const char *e = std::getenv("OMP_NUM_THREADS")) g_threads = e;
    const Shape shapes[] = {{64, 100, 32, 128}, {32, 256, 32, 128}, {64, 100, 125, 320}};
    for (dt d : {dt::f32, dt::bf16})
        for (Cell c : {LSTM, LBR_GRU, GRU})
            for (const Shape &s0 : shapes) {
                Shape s = s0;
                if (half) s.B /= 2;
                run(c, s, d);
            }
    return 0;
}
