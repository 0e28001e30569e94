"""An honest Chainer/tinynn-style NumPy CNN: the baseline neuronet is measured against.

This is how the well-known pure-NumPy deep-learning libraries of the
Chainer (v1-v7 CPU path) / tinynn / CS231n family write a CNN, without
special tricks and without neuronet's kernels:

- a ``Variable`` holds ``data``, ``grad`` and the ``Function`` that made it;
  a ``Function`` object per call, ``forward(inputs) -> outputs`` and
  ``backward(inputs, grad_outputs) -> grad_inputs``; ``backward()`` visits
  the functions in reverse creation order (Chainer's generation numbers);
- convolution as in ``chainer.functions.Convolution2DFunction.forward_cpu``:
  ``im2col`` by a Python loop over the kernel offsets into a
  ``(N, C, kH, kW, Ho, Wo)`` buffer, then ``numpy.tensordot`` with the weight;
  backward: ``gW = tensordot(gy, col)``, ``gcol = tensordot(W, gy)`` and
  ``col2im`` by the same per-offset loop;
- max pooling as ``chainer.functions.MaxPooling2D``: im2col with ``-inf``
  padding, ``argmax`` over the window, gradient scattered through the
  flat indices and ``col2im``;
- batch normalization, linear, ReLU, softmax cross-entropy with the textbook
  formulas; momentum SGD updating the parameters in place.

float32 throughout. It exists only for ``python -m neuronet.bench --baseline``
and imports nothing but NumPy.
"""
import heapq

import numpy as np

_backprop = {"enabled": True}


class no_backprop_mode:
    """Like ``chainer.no_backprop_mode()``: no graph is recorded inside."""

    def __enter__(self):
        self.prev = _backprop["enabled"]
        _backprop["enabled"] = False

    def __exit__(self, *exc):
        _backprop["enabled"] = self.prev


class Variable:
    def __init__(self, data, requires_grad=True):
        self.data = data
        self.grad = None
        self.creator = None
        self.generation = 0
        self.requires_grad = requires_grad

    @property
    def shape(self):
        return self.data.shape

    def cleargrad(self):
        self.grad = None

    def backward(self):
        """Reverse-mode sweep from this (scalar) variable."""
        self.grad = np.ones_like(self.data)
        heap, seen, counter = [], set(), 0

        def push(fn):
            nonlocal counter
            if fn is not None and id(fn) not in seen:
                seen.add(id(fn))
                heapq.heappush(heap, (-fn.generation, counter, fn))
                counter += 1

        push(self.creator)
        while heap:
            _, _, fn = heapq.heappop(heap)
            gys = [o.grad for o in fn.outputs]
            gxs = fn.backward([x.data for x in fn.inputs], gys)
            for x, gx in zip(fn.inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                x.grad = gx if x.grad is None else x.grad + gx
                push(x.creator)
            # Like Chainer: the function's references go with it; intermediate
            # gradients are dropped once consumed.
            for o in fn.outputs:
                if o is not self:
                    o.grad = None
            fn.inputs = fn.outputs = None


class Function:
    def __call__(self, *inputs):
        xs = [x.data for x in inputs]
        ys = self.forward(xs)
        outputs = [Variable(y, requires_grad=False) for y in ys]
        if _backprop["enabled"] and any(x.requires_grad for x in inputs):
            self.generation = max(x.generation for x in inputs)
            for o in outputs:
                o.requires_grad = True
                o.creator = self
                o.generation = self.generation + 1
            self.inputs = inputs
            self.outputs = outputs
        return outputs[0] if len(outputs) == 1 else outputs

    def forward(self, xs):
        raise NotImplementedError

    def backward(self, xs, gys):
        raise NotImplementedError


# ----------------------------------------------------------------------------- im2col

def get_conv_outsize(size, k, s, p):
    return (size + 2 * p - k) // s + 1


def im2col_cpu(img, kh, kw, sy, sx, ph, pw, pval=0.0):
    """``(N, C, H, W) -> (N, C, kH, kW, Ho, Wo)``, one strided copy per kernel offset."""
    n, c, h, w = img.shape
    out_h = get_conv_outsize(h, kh, sy, ph)
    out_w = get_conv_outsize(w, kw, sx, pw)
    img = np.pad(img, ((0, 0), (0, 0), (ph, ph + sy - 1), (pw, pw + sx - 1)),
                 mode="constant", constant_values=(pval,))
    col = np.ndarray((n, c, kh, kw, out_h, out_w), dtype=img.dtype)
    for j in range(kh):
        j_lim = j + sy * out_h
        for i in range(kw):
            i_lim = i + sx * out_w
            col[:, :, j, i, :, :] = img[:, :, j:j_lim:sy, i:i_lim:sx]
    return col


def col2im_cpu(col, sy, sx, ph, pw, h, w):
    """Adjoint of :func:`im2col_cpu`: add each offset's slice back into the image."""
    n, c, kh, kw, out_h, out_w = col.shape
    img = np.zeros((n, c, h + 2 * ph + sy - 1, w + 2 * pw + sx - 1), dtype=col.dtype)
    for j in range(kh):
        j_lim = j + sy * out_h
        for i in range(kw):
            i_lim = i + sx * out_w
            img[:, :, j:j_lim:sy, i:i_lim:sx] += col[:, :, j, i]
    return img[:, :, ph:h + ph, pw:w + pw]


# ----------------------------------------------------------------------------- functions

class Convolution2D(Function):
    def __init__(self, stride=1, pad=0):
        self.s, self.p = stride, pad

    def forward(self, xs):
        x, W = xs[0], xs[1]
        _, _, kh, kw = W.shape
        self.col = im2col_cpu(x, kh, kw, self.s, self.s, self.p, self.p)
        y = np.tensordot(self.col, W, ((1, 2, 3), (1, 2, 3))).astype(x.dtype, copy=False)
        if len(xs) == 3:
            y += xs[2]
        return np.rollaxis(y, 3, 1),          # (N, out_c, Ho, Wo), a view

    def backward(self, xs, gys):
        x, W = xs[0], xs[1]
        gy = gys[0]
        h, w = x.shape[2:]
        gW = np.tensordot(gy, self.col, ((0, 2, 3), (0, 4, 5))).astype(W.dtype, copy=False)
        gcol = np.tensordot(W, gy, (0, 1)).astype(x.dtype, copy=False)
        gcol = np.rollaxis(gcol, 3)
        gx = col2im_cpu(gcol, self.s, self.s, self.p, self.p, h, w)
        self.col = None
        if len(xs) == 3:
            return gx, gW, gy.sum(axis=(0, 2, 3))
        return gx, gW


class MaxPooling2D(Function):
    def __init__(self, k, stride):
        self.k, self.s = k, stride

    def forward(self, xs):
        x = xs[0]
        self.in_shape = x.shape
        col = im2col_cpu(x, self.k, self.k, self.s, self.s, 0, 0, pval=-np.inf)
        n, c, kh, kw, out_h, out_w = col.shape
        col = col.reshape(n, c, kh * kw, out_h, out_w)
        self.indexes = col.argmax(axis=2)
        return col.max(axis=2),

    def backward(self, xs, gys):
        gy = gys[0]
        n, c, h, w = self.in_shape
        out_h, out_w = gy.shape[2:]
        kh = kw = self.k
        gcol = np.zeros((n * c * out_h * out_w * kh * kw,), dtype=gy.dtype)
        indexes = self.indexes.flatten()
        indexes += np.arange(0, indexes.size * kh * kw, kh * kw)
        gcol[indexes] = gy.ravel()
        gcol = gcol.reshape(n, c, out_h, out_w, kh, kw)
        gcol = np.swapaxes(gcol, 2, 4)
        gcol = np.swapaxes(gcol, 3, 5)
        self.indexes = None
        return col2im_cpu(gcol, self.s, self.s, 0, 0, h, w),


class ReLU(Function):
    def forward(self, xs):
        self.y = np.maximum(xs[0], 0, dtype=xs[0].dtype)
        return self.y,

    def backward(self, xs, gys):
        g = gys[0] * (self.y > 0)
        self.y = None
        return g,


class LinearFunction(Function):
    def forward(self, xs):
        x, W, b = xs
        return x.dot(W.T) + b,

    def backward(self, xs, gys):
        x, W, _ = xs
        gy = gys[0]
        return gy.dot(W).astype(x.dtype, copy=False), gy.T.dot(x), gy.sum(axis=0)


class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, xs):
        return xs[0].reshape(self.shape),

    def backward(self, xs, gys):
        return gys[0].reshape(xs[0].shape),


class Add(Function):
    def forward(self, xs):
        return xs[0] + xs[1],

    def backward(self, xs, gys):
        return gys[0], gys[0]


class BatchNormalization(Function):
    """Training-mode batch norm over (N, H, W) per channel, updating the
    running statistics like ``chainer.links.BatchNormalization``."""

    def __init__(self, eps, running_mean, running_var, decay, train):
        self.eps, self.rm, self.rv, self.decay, self.train = eps, running_mean, running_var, decay, train

    def forward(self, xs):
        x, gamma, beta = xs
        g = gamma[None, :, None, None]
        b = beta[None, :, None, None]
        if not self.train:
            return (g * (x - self.rm[None, :, None, None])
                    / np.sqrt(self.rv[None, :, None, None] + self.eps) + b).astype(x.dtype),
        mean = x.mean(axis=(0, 2, 3))
        var = x.var(axis=(0, 2, 3))
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean[None, :, None, None]) * self.inv_std[None, :, None, None]
        m = x.size // gamma.size
        self.rm *= self.decay
        self.rm += (1 - self.decay) * mean
        self.rv *= self.decay
        self.rv += (1 - self.decay) * var * m / max(m - 1, 1)
        return g * self.x_hat + b,

    def backward(self, xs, gys):
        x, gamma, _ = xs
        gy = gys[0]
        m = x.size // gamma.size
        gbeta = gy.sum(axis=(0, 2, 3))
        ggamma = (gy * self.x_hat).sum(axis=(0, 2, 3))
        coeff = (gamma * self.inv_std)[None, :, None, None]
        gx = coeff * (gy - (self.x_hat * ggamma[None, :, None, None] + gbeta[None, :, None, None]) / m)
        self.x_hat = None
        return gx.astype(x.dtype, copy=False), ggamma, gbeta


class ShortcutA(Function):
    """Option-A residual shortcut: subsample by ``stride``, append zero channels."""

    def __init__(self, stride, extra):
        self.stride, self.extra = stride, extra

    def forward(self, xs):
        x = xs[0][:, :, ::self.stride, ::self.stride]
        n, _, h, w = x.shape
        return np.concatenate([x, np.zeros((n, self.extra, h, w), x.dtype)], axis=1),

    def backward(self, xs, gys):
        x = xs[0]
        gx = np.zeros_like(x)
        gx[:, :, ::self.stride, ::self.stride] = gys[0][:, :x.shape[1]]
        return gx,


class GlobalAveragePooling(Function):
    def forward(self, xs):
        return xs[0].mean(axis=(2, 3)),

    def backward(self, xs, gys):
        x = xs[0]
        scale = 1.0 / (x.shape[2] * x.shape[3])
        return np.broadcast_to((gys[0] * scale)[:, :, None, None], x.shape).astype(x.dtype),


class SoftmaxCrossEntropy(Function):
    def __init__(self, t):
        self.t = t

    def forward(self, xs):
        x = xs[0]
        x = x - x.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(x).sum(axis=1, keepdims=True))
        self.log_y = x - log_z
        loss = -self.log_y[np.arange(len(self.t)), self.t].mean()
        return np.asarray(loss, dtype=x.dtype),

    def backward(self, xs, gys):
        y = np.exp(self.log_y)
        y[np.arange(len(self.t)), self.t] -= 1
        y *= gys[0] / len(self.t)
        self.log_y = None
        return y.astype(xs[0].dtype, copy=False),


# ----------------------------------------------------------------------------- links

def _param(shape, fan_in, rng):
    w = rng.standard_normal(shape).astype(np.float32) * np.float32(np.sqrt(2.0 / fan_in))
    return Variable(w)


class Link:
    def params(self):
        for v in vars(self).values():
            if isinstance(v, Variable):
                yield v
            elif isinstance(v, Link):
                yield from v.params()
            elif isinstance(v, list):
                for item in v:
                    if isinstance(item, Link):
                        yield from item.params()

    def cleargrads(self):
        for p in self.params():
            p.cleargrad()


class Conv(Link):
    def __init__(self, cin, cout, k, rng, stride=1, pad=0, bias=True):
        self.W = _param((cout, cin, k, k), cin * k * k, rng)
        self.b = Variable(np.zeros(cout, np.float32)) if bias else None
        self.stride, self.pad = stride, pad

    def __call__(self, x):
        args = (x, self.W) if self.b is None else (x, self.W, self.b)
        return Convolution2D(self.stride, self.pad)(*args)


class Linear(Link):
    def __init__(self, cin, cout, rng):
        self.W = _param((cout, cin), cin, rng)
        self.b = Variable(np.zeros(cout, np.float32))

    def __call__(self, x):
        return LinearFunction()(x, self.W, self.b)


class BatchNorm(Link):
    def __init__(self, c):
        self.gamma = Variable(np.ones(c, np.float32))
        self.beta = Variable(np.zeros(c, np.float32))
        self.avg_mean = np.zeros(c, np.float32)
        self.avg_var = np.ones(c, np.float32)
        self.train = True

    def __call__(self, x):
        return BatchNormalization(1e-5, self.avg_mean, self.avg_var, 0.9, self.train)(
            x, self.gamma, self.beta)


def relu(x):
    return ReLU()(x)


def max_pooling_2d(x, k, stride):
    return MaxPooling2D(k, stride)(x)


class LeNet5(Link):
    def __init__(self, rng, num_classes=10, in_channels=1):
        self.conv1 = Conv(in_channels, 6, 5, rng, pad=2)
        self.conv2 = Conv(6, 16, 5, rng)
        self.fc1 = Linear(400, 120, rng)
        self.fc2 = Linear(120, 84, rng)
        self.fc3 = Linear(84, num_classes, rng)

    def __call__(self, x):
        h = max_pooling_2d(relu(self.conv1(x)), 2, 2)
        h = max_pooling_2d(relu(self.conv2(h)), 2, 2)
        h = Reshape((h.shape[0], -1))(h)
        h = relu(self.fc1(h))
        h = relu(self.fc2(h))
        return self.fc3(h)


class Block(Link):
    def __init__(self, cin, cout, stride, rng):
        self.conv1 = Conv(cin, cout, 3, rng, stride=stride, pad=1, bias=False)
        self.bn1 = BatchNorm(cout)
        self.conv2 = Conv(cout, cout, 3, rng, pad=1, bias=False)
        self.bn2 = BatchNorm(cout)
        self.stride, self.extra = stride, cout - cin

    def __call__(self, x):
        h = relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        s = x if (self.stride == 1 and not self.extra) else ShortcutA(self.stride, self.extra)(x)
        return relu(Add()(h, s))


class ResNet20(Link):
    def __init__(self, rng, num_classes=10, in_channels=3):
        self.conv1 = Conv(in_channels, 16, 3, rng, pad=1, bias=False)
        self.bn1 = BatchNorm(16)
        self.blocks, c = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(3):
                self.blocks.append(Block(c, planes, stride if i == 0 else 1, rng))
                c = planes
        self.fc = Linear(64, num_classes, rng)

    def __call__(self, x):
        h = relu(self.bn1(self.conv1(x)))
        for b in self.blocks:
            h = b(h)
        return self.fc(GlobalAveragePooling()(h))


class VGGStyle(Link):
    def __init__(self, rng, num_classes=10, in_channels=3):
        self.convs = [Conv(in_channels, 64, 3, rng, pad=1), Conv(64, 64, 3, rng, pad=1),
                      Conv(64, 128, 3, rng, pad=1), Conv(128, 128, 3, rng, pad=1)]
        self.fc = Linear(128 * 8 * 8, num_classes, rng)

    def __call__(self, x):
        h = x
        for i, conv in enumerate(self.convs):
            h = relu(conv(h))
            if i % 2 == 1:
                h = max_pooling_2d(h, 2, 2)
        h = Reshape((h.shape[0], -1))(h)
        return self.fc(h)


def build_model(name, seed=0):
    """``"lenet5"``, ``"resnet20"`` (option A) or ``"vgg"`` (the bench's VGG-style net)."""
    rng = np.random.default_rng(seed)
    return {"lenet5": LeNet5, "resnet20": ResNet20, "vgg": VGGStyle}[name](rng)


def set_train(model, train):
    def visit(link):
        if isinstance(link, BatchNorm):
            link.train = train
        for v in vars(link).values():
            if isinstance(v, Link):
                visit(v)
            elif isinstance(v, list):
                for item in v:
                    if isinstance(item, Link):
                        visit(item)
    visit(model)


class MomentumSGD:
    """``chainer.optimizers.MomentumSGD``: v <- momentum v - lr g; p <- p + v (in place)."""

    def __init__(self, params, lr=0.01, momentum=0.9):
        self.params = list(params)
        self.lr, self.momentum = lr, momentum
        self.v = [np.zeros_like(p.data) for p in self.params]

    def update(self):
        for p, v in zip(self.params, self.v):
            if p.grad is None:
                continue
            v *= self.momentum
            v -= self.lr * p.grad
            p.data += v


def train_step(model, optimizer, x, t):
    """One step: clear grads, forward, softmax cross-entropy, backward, update."""
    model.cleargrads()
    loss = SoftmaxCrossEntropy(t)(model(Variable(x, requires_grad=False)))
    loss.backward()
    optimizer.update()
    return loss


def predict(model, x):
    with no_backprop_mode():
        return model(Variable(x, requires_grad=False))
