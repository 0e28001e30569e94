"""Recurrent layers: ``RNN`` (Elman 1990), ``LSTM`` (Hochreiter & Schmidhuber
1997, with the forget gate of Gers et al. 2000), ``GRU`` (Cho et al. 2014),
and their one-step cells, with PyTorch's argument names, parameter names
(``weight_ih_l0``, ``bias_hh_l1_reverse``, ...), gate order, shapes and init.

Each time step is a composition of ops with hand-written backward passes
(linear, sigmoid, tanh, products), so backpropagation through time is the
autograd running those steps' backward in reverse order. Per step, with
x_t the input and h the previous hidden state:

    RNN:   h' = tanh(W_ih x_t + b_ih + W_hh h + b_hh)          (or relu)
    LSTM:  i, f, g, o = split(W_ih x_t + b_ih + W_hh h + b_hh)
           c' = sigmoid(f) c + sigmoid(i) tanh(g),  h' = sigmoid(o) tanh(c')   (h' = W_hr h' with proj_size)
    GRU:   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
           n = tanh(W_in x + b_in + r (W_hn h + b_hn)),   h' = (1 - z) n + z h
"""
from __future__ import annotations

import math

from .. import functional as F
from ..parameter import Parameter
from ...tensor import cat, stack, zeros
from ..utils.rnn import PackedSequence
from .module import Module
from ._utils import check_tensor, empty_param_array, uniform_

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ---------------------------------------------------------------- one step of each cell
def _rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, relu):
    pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    return F.relu(pre) if relu else pre.tanh()


def _lstm_step(x, state, w_ih, w_hh, b_ih, b_hh, w_hr=None):
    h, c = state
    gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def _gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    i_r, i_z, i_n = F.linear(x, w_ih, b_ih).chunk(3, -1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return (1 - z) * n + z * h


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters, init, the loop over layers,
    directions and time steps."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool) or hidden_size <= 0:
            raise ValueError(f"hidden_size must be greater than zero, received {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"num_layers must be greater than zero, received {num_layers!r}")
        if not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError(f"proj_size argument is only supported for LSTM, not {name}")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_in = input_size if layer == 0 else real_hidden * num_directions
                sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_in)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr", (proj_size, hidden_size))]
                for pname, shape in shapes:
                    setattr(self, pname + sfx, Parameter(empty_param_array(shape, dtype, device)))
                    self._flat_weights_names.append(pname + sfx)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            uniform_(p, bound)

    def _weights(self, layer, direction):
        sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        get = lambda n: self._parameters.get(n + sfx)   # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------ forward
    def _step(self, x, state, weights):
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        if self.mode == "LSTM":
            return _lstm_step(x, state, w_ih, w_hh, b_ih, b_hh, w_hr)
        if self.mode == "GRU":
            return _gru_step(x, state, w_ih, w_hh, b_ih, b_hh)
        return _rnn_step(x, state, w_ih, w_hh, b_ih, b_hh, self.mode == "RNN_RELU")

    def _check_input(self, input, hx):
        check_tensor(input)
        if input.ndim not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                               f"{input.shape[-1]}")

    def forward(self, input, hx=None):
        """``input`` (L, N, H_in) / (N, L, H_in) with batch_first / (L, H_in), or a
        :class:`~neuronet.nn.utils.rnn.PackedSequence` (then the output is packed too,
        and each sequence's h_n is its state after its own last step)."""
        is_lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        sorted_idx = unsorted_idx = None
        if packed:
            data, batch_sizes, sorted_idx, unsorted_idx = input
            self._check_input(data, hx)
            if data.ndim != 2:
                raise ValueError(f"{type(self).__name__}: expected packed data of shape (sum of lengths, "
                                 f"{self.input_size}), received {tuple(data.shape)}")
            sizes = [int(b) for b in batch_sizes.tolist()]
            L, N = len(sizes), sizes[0]
            steps, offset = [], 0
            for b in sizes:
                steps.append(data[offset:offset + b])
                offset += b
            batched, dtype, device = True, data.dtype, data.device
        else:
            self._check_input(input, hx)
            batched = input.ndim == 3
            if not batched:
                input = input.unsqueeze(1)
                if hx is not None:
                    hx = tuple(h.unsqueeze(1) for h in hx) if is_lstm else hx.unsqueeze(1)
            elif self.batch_first:
                input = input.transpose(0, 1)
            L, N = input.shape[0], input.shape[1]
            sizes = [N] * L
            steps = list(input.unbind(0))      # layer 0's inputs, one (N, H_in) tensor per time step
            dtype, device = input.dtype, input.device
        D = 2 if self.bidirectional else 1
        h_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        if hx is None:
            h0 = zeros(self.num_layers * D, N, h_size, dtype=dtype, device=device)
            c0 = zeros(self.num_layers * D, N, self.hidden_size, dtype=dtype, device=device)
        elif is_lstm:
            h0, c0 = hx
            self._check_hidden(h0, (self.num_layers * D, N, h_size), "h_0")
            self._check_hidden(c0, (self.num_layers * D, N, self.hidden_size), "c_0")
        else:
            h0 = hx
            self._check_hidden(h0, (self.num_layers * D, N, h_size), "hx")
        if hx is not None and sorted_idx is not None:      # states follow the batch into length order
            order = sorted_idx.tolist()
            h0 = h0[:, order]
            if is_lstm:
                c0 = c0[:, order]
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs_per_dir = []
            for direction in range(D):
                k = layer * D + direction
                state = (h0[k], c0[k]) if is_lstm else h0[k]
                weights = self._weights(layer, direction)
                order = range(L) if direction == 0 else range(L - 1, -1, -1)
                outs = [None] * L
                for t in order:
                    state, outs[t] = self._advance(steps[t], state, weights, sizes[t], N, is_lstm)
                outs_per_dir.append(outs)
                h_n.append(state[0] if is_lstm else state)
                if is_lstm:
                    c_n.append(state[1])
            steps = [outs_per_dir[0][t] if D == 1 else cat([outs_per_dir[0][t], outs_per_dir[1][t]], -1)
                     for t in range(L)]
            if self.dropout and self.training and layer < self.num_layers - 1:
                steps = [F.dropout(s, self.dropout, True) for s in steps]
        h_n = stack(h_n, 0)
        c_n = stack(c_n, 0) if is_lstm else None
        if packed:
            if unsorted_idx is not None:
                back = unsorted_idx.tolist()
                h_n = h_n[:, back]
                c_n = c_n[:, back] if is_lstm else None
            output = PackedSequence(cat(steps, 0), input.batch_sizes, sorted_idx, unsorted_idx)
            return output, ((h_n, c_n) if is_lstm else h_n)
        output = stack(steps, 0)
        if not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if is_lstm else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, ((h_n, c_n) if is_lstm else h_n)

    def _advance(self, x, state, weights, active, N, is_lstm):
        """One time step for the first ``active`` sequences (all N unless packed);
        the others keep their state. Returns (new state, this step's output rows)."""
        if active == N:
            state = self._step(x, state, weights)
            return state, (state[0] if is_lstm else state)
        if is_lstm:
            h, c = self._step(x, (state[0][:active], state[1][:active]), weights)
            return (cat([h, state[0][active:]], 0), cat([c, state[1][active:]], 0)), h
        h = self._step(x, state[:active], weights)
        return cat([h, state[active:]], 0), h

    @staticmethod
    def _check_hidden(h, expected, name):
        check_tensor(h, name)
        if tuple(h.shape) != tuple(expected):
            raise RuntimeError(f"Expected hidden size {tuple(expected)}, got {list(h.shape)} (for {name})")


class RNN(RNNBase):
    r"""Elman RNN: :math:`h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})`
    (``nonlinearity='relu'``: ReLU).

    Shape: input ``(L, N, H_in)`` (``(N, L, H_in)`` with batch_first, or ``(L, H_in)``),
    h_0 ``(D num_layers, N, H)`` -> output ``(L, N, D H)``, h_n ``(D num_layers, N, H)``.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype)


class LSTM(RNNBase):
    r"""Long short-term memory (gates i, f, g, o in that order, PyTorch's).

    Shape: input as RNN; ``hx = (h_0, c_0)``, h_0 ``(D num_layers, N, H_out)``,
    c_0 ``(D num_layers, N, H)`` (H_out = proj_size or H) -> output ``(L, N, D H_out)``,
    ``(h_n, c_n)``.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n in that order, PyTorch's). Shapes as :class:`RNN`."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         0, device, dtype)


# ---------------------------------------------------------------- cells
class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty_param_array((num_chunks * hidden_size, input_size), dtype, device))
        self.weight_hh = Parameter(empty_param_array((num_chunks * hidden_size, hidden_size), dtype, device))
        if bias:
            self.bias_ih = Parameter(empty_param_array((num_chunks * hidden_size,), dtype, device))
            self.bias_hh = Parameter(empty_param_array((num_chunks * hidden_size,), dtype, device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            uniform_(p, bound)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, hx, n_states):
        check_tensor(input)
        if input.ndim not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size}")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            z = zeros(x.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)
            hx = (z, z) if n_states == 2 else z
        elif not batched:
            hx = tuple(h.unsqueeze(0) for h in hx) if n_states == 2 else hx.unsqueeze(0)
        return x, hx, batched


class RNNCell(RNNCellBase):
    """One Elman step: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)``. Input (N, H_in) or (H_in,)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input, hx=None):
        x, h, batched = self._prepare(input, hx, 1)
        out = _rnn_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                        self.nonlinearity == "relu")
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: ``(h', c') = cell(x, (h, c))``. Input (N, H_in) or (H_in,)."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        x, state, batched = self._prepare(input, hx, 2)
        h, c = _lstm_step(x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: ``h' = cell(x, h)``. Input (N, H_in) or (H_in,)."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, h, batched = self._prepare(input, hx, 1)
        out = _gru_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if batched else out.squeeze(0)
