"""LSTM with an initial state, gradcheck through time, and input errors."""
import numpy as np
import pytest

import neuronet as nt
import neuronet.nn as nn
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch


@requires_torch
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_with_initial_state_matches_torch(bidirectional):
    torch.manual_seed(0)
    tmod = torch.nn.LSTM(3, 4, 2, bidirectional=bidirectional).double()
    mod = nn.LSTM(3, 4, 2, bidirectional=bidirectional).double()
    mod.load_state_dict({k: v.numpy() for k, v in tmod.state_dict().items()})
    d = 2 if bidirectional else 1
    flat = lambda out: (out[0], *out[1])     # noqa: E731  (output, h_n, c_n)
    compare_with_torch(lambda x, h, c: flat(mod(x, (h, c))), lambda x, h, c: flat(tmod(x, (h, c))),
                       randn(6, 2, 3, seed=1), randn(2 * d, 2, 4, seed=2), randn(2 * d, 2, 4, seed=3), atol=1e-10)
    tparams = dict(tmod.named_parameters())
    for name, p in mod.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), atol=1e-10, err_msg=name)


def test_gradcheck_through_time():
    nt.manual_seed(0)
    for mod in (nn.LSTM(2, 3).double(), nn.GRU(2, 3, bidirectional=True).double(), nn.RNN(2, 3, 2).double()):
        check_grad(lambda x: mod(x)[0], randn(4, 2, 2, seed=4))


def test_lstm_parameter_names_and_shapes():
    m = nn.LSTM(3, 5, 2, bidirectional=True, proj_size=2)
    names = [(n, p.shape) for n, p in m.named_parameters()]
    assert names[:5] == [("weight_ih_l0", (20, 3)), ("weight_hh_l0", (20, 2)), ("bias_ih_l0", (20,)),
                         ("bias_hh_l0", (20,)), ("weight_hr_l0", (2, 5))]
    assert ("weight_ih_l1_reverse", (20, 4)) in names


def test_rnn_errors():
    m = nn.GRU(3, 4)
    with pytest.raises(RuntimeError, match="input_size"):
        m(nt.randn(5, 2, 4))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        m(nt.randn(5, 2, 3), nt.randn(2, 2, 4))
    with pytest.raises(ValueError, match="proj_size"):
        nn.RNNBase("GRU", 3, 4, proj_size=2)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")


# ---------------------------------------------------------------- packed sequences
@requires_torch
@pytest.mark.parametrize("mode, bidirectional, sort", [("LSTM", False, True), ("GRU", True, False),
                                                       ("LSTM", True, False), ("RNN", False, False)])
def test_packed_sequences_match_torch(mode, bidirectional, sort):
    from neuronet.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    from torch.nn.utils.rnn import pack_padded_sequence as tpack, pad_packed_sequence as tpad
    torch.manual_seed(0)
    tmod = getattr(torch.nn, mode)(3, 4, 2, bidirectional=bidirectional, batch_first=True).double()
    mod = getattr(nn, mode)(3, 4, 2, bidirectional=bidirectional, batch_first=True).double()
    mod.load_state_dict({k: v.numpy() for k, v in tmod.state_dict().items()})
    lengths = [5, 4, 2] if sort else [2, 5, 4]
    d = 2 if bidirectional else 1

    def run(module, pack, unpack, x, h):
        hx = (h, h * 0.5) if mode == "LSTM" else h
        out, state = module(pack(x, lengths, batch_first=True, enforce_sorted=sort), hx)
        padded, lens = unpack(out, batch_first=True)
        return (padded, *(state if mode == "LSTM" else (state,)))
    compare_with_torch(lambda x, h: run(mod, pack_padded_sequence, pad_packed_sequence, x, h),
                       lambda x, h: run(tmod, tpack, tpad, x, h),
                       randn(3, 5, 3, seed=1), randn(2 * d, 3, 4, seed=2), atol=1e-10)


def test_pack_pad_roundtrip_and_errors():
    from neuronet.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence
    x = randn(6, 3, 2, seed=3)
    packed = pack_padded_sequence(nt.tensor(x), [6, 3, 1])
    assert packed.batch_sizes.tolist() == [3, 2, 2, 1, 1, 1]
    out, lens = pad_packed_sequence(packed, total_length=7)
    assert out.shape == (7, 3, 2) and lens.tolist() == [6, 3, 1]
    np.testing.assert_array_equal(out.numpy()[:3, 1], x[:3, 1])
    assert (out.numpy()[3:, 1] == 0).all()
    with pytest.raises(RuntimeError, match="decreasing order"):
        pack_padded_sequence(nt.tensor(x), [1, 3, 6])
    seqs = [nt.tensor(randn(n, 2, seed=n)) for n in (2, 4)]
    packed = pack_sequence(seqs, enforce_sorted=False)
    assert packed.sorted_indices.tolist() == [1, 0] and packed.data.shape == (6, 2)
