"""Naive loop implementations of the convolution equations, straight from the
slide, on NumPy arrays ``(N, C, H, W)``: slow, and written independently of the
library's vectorized kernels so the tests can witness them."""
import numpy as np

def _ref_pads(padding, kernel, dilation):
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        (th, tw) = (dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1))
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return (ph, ph, pw, pw)


def _ref_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_reference(y, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """x^l_ij = sum_a sum_b w_ab y^(l-1)_(i*s+a*d)(j*s+b*d) (+ bias), by loops."""
    (sh, sw), (dh, dw) = _ref_pair(stride), _ref_pair(dilation)
    O, Cg, kh, kw = w.shape
    t, b, l, r = _ref_pads(padding, (kh, kw), (dh, dw))
    yp = np.pad(y, ((0, 0), (0, 0), (t, b), (l, r)))
    N, C, hp, wp = yp.shape
    ho, wo = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    og = O // groups
    x = np.zeros((N, O, ho, wo), dtype=y.dtype)
    for n in range(N):
        for o in range(O):
            chans = slice((o // og) * Cg, (o // og + 1) * Cg)   # the input channels of o's group
            for i in range(ho):
                for j in range(wo):
                    s = 0.0
                    for a in range(kh):
                        for bb in range(kw):
                            s += w[o, :, a, bb] @ yp[n, chans, i * sh + a * dh, j * sw + bb * dw]
                    x[n, o, i, j] = s + (bias[o] if bias is not None else 0.0)
    return x


def conv2d_weight_grad_reference(y, gx, w_shape, stride=1, padding=0, dilation=1, groups=1):
    """Delta rule: dE/dw_ab = sum_ij dE/dx^l_ij y^(l-1)_(i*s+a*d)(j*s+b*d), by loops."""
    (sh, sw), (dh, dw) = _ref_pair(stride), _ref_pair(dilation)
    O, Cg, kh, kw = w_shape
    t, b, l, r = _ref_pads(padding, (kh, kw), (dh, dw))
    yp = np.pad(y, ((0, 0), (0, 0), (t, b), (l, r)))
    N, _, ho, wo = gx.shape
    og = O // groups
    dw_ = np.zeros(w_shape, dtype=y.dtype)
    for o in range(O):
        for c in range(Cg):
            cin = (o // og) * Cg + c
            for a in range(kh):
                for bb in range(kw):
                    s = 0.0
                    for n in range(N):
                        for i in range(ho):
                            for j in range(wo):
                                s += gx[n, o, i, j] * yp[n, cin, i * sh + a * dh, j * sw + bb * dw]
                    dw_[o, c, a, bb] = s
    return dw_


def conv2d_input_grad_reference(gx, w, y_shape, stride=1, padding=0, dilation=1, groups=1):
    """Chain rule: dE/dy^(l-1)_ij = sum_ab dE/dx^l_(i-a)(j-b) w_ab, by loops.

    With stride and dilation the output position fed by input row ``h`` and
    kernel row ``a`` is ``i = (h + p - a*d) / s`` when that is a whole number
    inside the output.
    """
    (sh, sw), (dh, dw) = _ref_pair(stride), _ref_pair(dilation)
    O, Cg, kh, kw = w.shape
    t, _, l, _ = _ref_pads(padding, (kh, kw), (dh, dw))
    N, C, H, W = y_shape
    _, _, ho, wo = gx.shape
    og = O // groups
    dy = np.zeros(y_shape, dtype=gx.dtype)
    for n in range(N):
        for c in range(C):
            g = c // Cg
            for h in range(H):
                for x in range(W):
                    s = 0.0
                    for a in range(kh):
                        for bb in range(kw):
                            ni, nj = h + t - a * dh, x + l - bb * dw
                            if ni % sh or nj % sw:
                                continue
                            i, j = ni // sh, nj // sw
                            if 0 <= i < ho and 0 <= j < wo:
                                for o in range(g * og, (g + 1) * og):
                                    s += gx[n, o, i, j] * w[o, c - g * Cg, a, bb]
                    dy[n, c, h, x] = s
    return dy


def conv_transpose2d_reference(x, w, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                               dilation=1):
    """out[n, o, i*s + a*d - p, j*s + b*d - p] += x[n,c,i,j] w[c,o,a,b], by loops."""
    (sh, sw), (ph, pw) = _ref_pair(stride), _ref_pair(padding)
    (oh, ow), (dh, dw) = _ref_pair(output_padding), _ref_pair(dilation)
    N, C, H, W = x.shape
    _, og, kh, kw = w.shape
    cg = C // groups
    ho = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oh + 1
    wo = (W - 1) * sw - 2 * pw + dw * (kw - 1) + ow + 1
    out = np.zeros((N, og * groups, ho, wo), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            g = c // cg
            for i in range(H):
                for j in range(W):
                    for a in range(kh):
                        for bb in range(kw):
                            r, q = i * sh + a * dh - ph, j * sw + bb * dw - pw
                            if 0 <= r < ho and 0 <= q < wo:
                                for o in range(og):
                                    out[n, g * og + o, r, q] += x[n, c, i, j] * w[c, o, a, bb]
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out
