#!/usr/bin/env python3
"""Writes the PyTorch golden fixtures for Recur's model tests (Tests/RecurModelTests/Fixtures).

Run by hand, with torch installed in a virtual environment outside the repository:
    python3 -m venv /opt/torchref && /opt/torchref/bin/pip install torch
    /opt/torchref/bin/python Tests/Reference/make_golden.py
The tests read the committed JSON and need no Python.

Each fixture is one JSON object:
  name, cell (rnn|gru|lstm), nonlinearity (tanh|relu), reset (after|before), layers, hidden,
  input (features|embedding|one_hot), vocab, embed, features, output, head (every_step|last_step),
  loss (cross_entropy|mse), batch, steps, normalizer,
  params:  {state_dict name: flat float32 values}  (PyTorch names and [out, in] shapes)
  inputs:  time-major flat list (token ids at [t*B + j], or features at [(t*B + j)*F + f])
  targets: class ids per output row, or values laid out like the outputs (-1 for a padded step of a
           packed every-step fixture: no target, ignored)
  h0, c0:  [L, B, H] flat, or null for zeros
  outputs: head outputs, [T*B, O] (every_step) or [B, O] (last_step)
  h_n, c_n: final states [L, B, H] ([L*2, B, H], layer-major, when bidirectional)
  bidirectional: true for models with PyTorch's *_reverse tensors; the last-step head then reads
           h_n[-2] ‖ h_n[-1] (both directions' final states), the every-step head out[t] (fwd ‖ rev)
  lengths: optional (present only in the packed_* fixtures): B ints,
           each 1...steps, the valid length of each batch row, unsorted, as
           nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False). Row j is the
           sequence of steps 0..lengths[j]-1 alone; its padded steps t >= lengths[j] still hold
           random values in inputs (normals, or valid token ids) and must have no effect.
           h_n, c_n are then PyTorch's packed final states, [L*D, B, H] in batch order: the forward
           direction's state after step lengths[j]-1, the reverse direction's after reading
           steps lengths[j]-1 ... 0. The last-step head reads h_n[-1] (h_n[-2] ‖ h_n[-1] when
           bidirectional), so each row's own final state, and outputs are [B, O].
           The every-step head (only with cross_entropy, the packed_*_everystep_ce fixtures) reads
           the top layer's out[t, j] (fwd ‖ rev when bidirectional, the reverse direction run over
           steps lengths[j]-1 ... 0 only), outputs are [T*B, O] time-major as without lengths;
           at a padded step t >= lengths[j] the target is -1 and the output row is the head applied
           to zeros, exactly head.bias (nn.utils.rnn.pad_packed_sequence's padding_value 0), to be
           skipped. The normalizer counts only the valid rows (sum of lengths, + 0.5).
  loss:    sum of per-target losses / normalizer
  grads:   {name: flat d loss / d param}
Parameters and inputs are float32 values; the reference is computed in float64 from them.
GRU reset-before has no PyTorch module, so it is a small hand-written one below; with lengths it
is run on each row alone (a batch of one, cut to its length), the final states are stacked and the
per-step outputs padded with zeros to steps.
"""
import json, os, sys
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "RecurModelTests", "Fixtures")


def gru_before(x, h0, p, layers, H, directions=1):
    """n = tanh(W_in x + b_in + W_hn (r * h) + b_hn), the original GRU (reverse direction: the
    same over the reversed sequence, its outputs flipped back)."""
    outs, finals = x, []
    for l in range(layers):
        per_direction = []
        for d in range(directions):
            sfx = "_reverse" if d == 1 else ""
            w_ih, w_hh = p[f"rnn.weight_ih_l{l}{sfx}"], p[f"rnn.weight_hh_l{l}{sfx}"]
            b_ih, b_hh = p[f"rnn.bias_ih_l{l}{sfx}"], p[f"rnn.bias_hh_l{l}{sfx}"]
            h = h0[l * directions + d]
            ys = []
            seq = outs if d == 0 else torch.flip(outs, [0])
            for t in range(seq.shape[0]):
                gi = seq[t] @ w_ih.T + b_ih
                r = torch.sigmoid(gi[:, :H] + h @ w_hh[:H].T + b_hh[:H])
                z = torch.sigmoid(gi[:, H:2 * H] + h @ w_hh[H:2 * H].T + b_hh[H:2 * H])
                n = torch.tanh(gi[:, 2 * H:] + (r * h) @ w_hh[2 * H:].T + b_hh[2 * H:])
                h = (1 - z) * n + z * h
                ys.append(h)
            y = torch.stack(ys)
            per_direction.append(y if d == 0 else torch.flip(y, [0]))
            finals.append(h)
        outs = torch.cat(per_direction, dim=2)
    return outs, torch.stack(finals)


def make(name, cell, layers, hidden, inp, loss, head="every_step", nonlin="tanh", reset="after",
         vocab=7, embed=5, feats=3, output=None, B=3, T=5, given_state=False, seed=0, bidirectional=False,
         lengths=None):
    torch.manual_seed(seed)
    if lengths is not None:
        # Packed (variable-length) rows, one length per row; every-step only with cross entropy
        # (padded steps get target -1).
        assert head == "last_step" or loss == "cross_entropy"
        assert len(lengths) == B and all(1 <= n <= T for n in lengths)
    output = output or (vocab if loss == "cross_entropy" else 2)
    G = {"rnn": 1, "gru": 3, "lstm": 4}[cell]
    H = hidden
    first = {"features": feats, "embedding": embed, "one_hot": vocab}[inp]
    names = []
    params = {}
    if inp == "embedding":
        params["embedding.weight"] = torch.randn(vocab, embed)
        names.append("embedding.weight")
    k = 1 / H ** 0.5
    D = 2 if bidirectional else 1
    for l in range(layers):
        i = first if l == 0 else D * H
        for sfx in (["", "_reverse"] if bidirectional else [""]):
            for n, shape in [(f"rnn.weight_ih_l{l}{sfx}", (G * H, i)), (f"rnn.weight_hh_l{l}{sfx}", (G * H, H)),
                             (f"rnn.bias_ih_l{l}{sfx}", (G * H,)), (f"rnn.bias_hh_l{l}{sfx}", (G * H,))]:
                params[n] = (torch.rand(shape) * 2 - 1) * k * 1.5
                names.append(n)
    params["head.weight"] = (torch.rand(output, D * H) * 2 - 1) * k
    params["head.bias"] = (torch.rand(output) * 2 - 1) * k
    names += ["head.weight", "head.bias"]

    if inp == "features":
        x32 = torch.randn(T, B, feats)
    else:
        x32 = torch.randint(0, vocab, (T, B))
    rows = T * B if head == "every_step" else B
    if loss == "cross_entropy":
        y = torch.randint(0, output, (rows,))
        if lengths is not None and head == "every_step":
            # Time-major rows t*B + j; no target at a padded step.
            y = y.reshape(T, B)
            for j, n in enumerate(lengths):
                y[n:, j] = -1
            y = y.reshape(rows)
    else:
        y = torch.randn(rows, output)
    h0 = torch.randn(layers, B, H) * 0.5 if given_state else None
    c0 = torch.randn(layers, B, H) * 0.5 if (given_state and cell == "lstm") else None

    p = {n: v.double().requires_grad_(True) for n, v in params.items()}
    if inp == "features":
        x = x32.double()
    elif inp == "embedding":
        x = p["embedding.weight"][x32]
    else:
        x = F.one_hot(x32, vocab).double()
    hz = h0.double() if h0 is not None else torch.zeros(layers * D, B, H, dtype=torch.float64)
    cz = c0.double() if c0 is not None else torch.zeros(layers * D, B, H, dtype=torch.float64)

    if cell == "gru" and reset == "before" and lengths is not None:
        # The definition: each row alone, cut to its length; stack the final states, pad the
        # outputs with zeros (as pad_packed_sequence does).
        alone = [gru_before(x[:n, j:j + 1], hz[:, j:j + 1], p, layers, H, D) for j, n in enumerate(lengths)]
        hn = torch.cat([a[1] for a in alone], dim=1)
        out = torch.cat([F.pad(a[0], (0, 0, 0, 0, 0, T - n)) for a, n in zip(alone, lengths)], dim=1)
        cn = None
    elif cell == "gru" and reset == "before":
        out, hn = gru_before(x, hz, p, layers, H, D)
        cn = None
    else:
        kw = dict(num_layers=layers, dtype=torch.float64, bidirectional=bidirectional)
        mod = {"rnn": lambda: nn.RNN(first, H, nonlinearity=nonlin, **kw),
               "gru": lambda: nn.GRU(first, H, **kw), "lstm": lambda: nn.LSTM(first, H, **kw)}[cell]()
        # Drive the module with our own parameter tensors so gradients land in p.
        from torch.func import functional_call
        sd = {n[len("rnn."):]: p[n] for n in names if n.startswith("rnn.")}
        if lengths is not None:
            # h_n, c_n come back in the original batch order; the padded steps are never read.
            x = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
        if cell == "lstm":
            out, (hn, cn) = functional_call(mod, sd, (x, (hz, cz)))
        else:
            out, hn = functional_call(mod, sd, (x, hz))
            cn = None
        if lengths is not None:
            out = nn.utils.rnn.pad_packed_sequence(out, total_length=T)[0]  # zeros at padded steps
    if head == "every_step":
        yin = out.reshape(T * B, D * H)
    else:
        yin = torch.cat([hn[-2], hn[-1]], dim=1) if bidirectional else (out[-1] if lengths is None else hn[-1])
    logits = yin @ p["head.weight"].T + p["head.bias"]
    if loss == "cross_entropy":
        normalizer = float((y >= 0).sum()) + 0.5  # rows with a target (all of them but padded steps)
        total = F.cross_entropy(logits, y, reduction="sum", ignore_index=-1) / normalizer
    else:
        normalizer = float(rows * output) + 0.5
        total = ((logits - y.double()) ** 2).sum() / normalizer
    total.backward()

    flat = lambda t: [float(v) for v in t.detach().reshape(-1).tolist()]
    fx = {
        "name": name, "cell": cell, "nonlinearity": nonlin, "reset": reset, "layers": layers, "hidden": H,
        "input": inp, "vocab": vocab, "embed": embed, "features": feats, "output": output, "head": head,
        "loss": loss, "batch": B, "steps": T, "normalizer": normalizer, "bidirectional": bidirectional,
    }
    if lengths is not None:
        fx["lengths"] = [int(n) for n in lengths]
    fx.update({
        "params": {n: flat(params[n]) for n in names},
        "inputs": flat(x32) if inp == "features" else [int(v) for v in x32.reshape(-1).tolist()],
        "targets": [int(v) for v in y.tolist()] if loss == "cross_entropy" else flat(y),
        "h0": flat(h0) if h0 is not None else None,
        "c0": flat(c0) if c0 is not None else None,
        "outputs": flat(logits), "h_n": flat(hn), "c_n": flat(cn) if cn is not None else None,
        "loss_value": float(total.detach()), "grads": {n: flat(p[n].grad) for n in names},
    })
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(fx, f, separators=(",", ":"))
    print("wrote", name)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make("rnn_tanh_1layer_features_mse", "rnn", 1, 6, "features", "mse", seed=1)
    make("rnn_relu_2layer_embedding_ce", "rnn", 2, 6, "embedding", "cross_entropy", nonlin="relu", seed=2)
    make("rnn_tanh_2layer_onehot_ce_state", "rnn", 2, 5, "one_hot", "cross_entropy", given_state=True, seed=3)
    make("gru_after_1layer_embedding_ce", "gru", 1, 6, "embedding", "cross_entropy", seed=4)
    make("gru_after_2layer_features_mse_state", "gru", 2, 5, "features", "mse", given_state=True, seed=5)
    make("gru_before_1layer_features_mse", "gru", 1, 6, "features", "mse", reset="before", seed=6)
    make("gru_before_2layer_embedding_ce_state", "gru", 2, 5, "embedding", "cross_entropy", reset="before",
         given_state=True, seed=7)
    make("lstm_1layer_onehot_ce", "lstm", 1, 6, "one_hot", "cross_entropy", seed=8)
    make("lstm_2layer_embedding_ce_state", "lstm", 2, 9, "embedding", "cross_entropy", given_state=True, seed=9)
    make("lstm_2layer_features_laststep_mse", "lstm", 2, 6, "features", "mse", head="last_step", seed=10)
    make("gru_after_1layer_features_laststep_ce", "gru", 1, 6, "features", "cross_entropy", head="last_step",
         output=4, seed=11)
    # Bidirectional layers (Note [Bidirectional layers]): every cell, both heads, every input.
    make("bi_rnn_tanh_2layer_features_laststep_ce", "rnn", 2, 5, "features", "cross_entropy", head="last_step",
         output=4, seed=12, bidirectional=True)
    make("bi_gru_after_2layer_embedding_ce", "gru", 2, 6, "embedding", "cross_entropy", seed=13, bidirectional=True)
    make("bi_gru_before_2layer_features_laststep_mse", "gru", 2, 5, "features", "mse", head="last_step",
         reset="before", seed=14, bidirectional=True)
    make("bi_lstm_2layer_embedding_laststep_ce", "lstm", 2, 6, "embedding", "cross_entropy", head="last_step",
         output=3, seed=15, bidirectional=True)
    make("bi_lstm_1layer_onehot_ce", "lstm", 1, 5, "one_hot", "cross_entropy", seed=16, bidirectional=True)
    # Packed (variable-length) rows, lengths unsorted with 1 and steps among them; last-step head only.
    make("packed_rnn_tanh_1layer_features_laststep_ce", "rnn", 1, 5, "features", "cross_entropy",
         head="last_step", output=4, B=5, T=6, seed=17, lengths=[3, 6, 1, 4, 2])
    make("packed_gru_after_2layer_features_laststep_ce", "gru", 2, 5, "features", "cross_entropy",
         head="last_step", output=4, B=5, T=6, seed=18, lengths=[5, 1, 6, 2, 4])
    make("packed_lstm_1layer_onehot_laststep_ce", "lstm", 1, 6, "one_hot", "cross_entropy",
         head="last_step", B=5, T=6, seed=19, lengths=[2, 6, 4, 1, 5])
    make("packed_bi_rnn_relu_2layer_features_laststep_mse", "rnn", 2, 5, "features", "mse", head="last_step",
         nonlin="relu", B=5, T=6, seed=20, bidirectional=True, lengths=[4, 1, 6, 3, 2])
    make("packed_bi_gru_after_1layer_embedding_laststep_ce", "gru", 1, 6, "embedding", "cross_entropy",
         head="last_step", B=5, T=6, seed=21, bidirectional=True, lengths=[6, 3, 1, 5, 2])
    make("packed_bi_gru_before_2layer_features_laststep_ce", "gru", 2, 5, "features", "cross_entropy",
         head="last_step", reset="before", output=4, B=5, T=6, seed=22, bidirectional=True,
         lengths=[2, 5, 6, 1, 3])
    make("packed_bi_lstm_2layer_embedding_laststep_ce", "lstm", 2, 6, "embedding", "cross_entropy",
         head="last_step", output=3, B=5, T=6, seed=23, bidirectional=True, lengths=[1, 4, 6, 2, 5])
    # Packed rows with the every-step head (sequence labelling): a class at every valid step,
    # target -1 and output head.bias at the padded ones.
    make("packed_lstm_2layer_features_everystep_ce", "lstm", 2, 5, "features", "cross_entropy",
         output=4, B=5, T=6, seed=24, lengths=[4, 6, 1, 3, 5])
    make("packed_bi_gru_after_2layer_features_everystep_ce", "gru", 2, 5, "features", "cross_entropy",
         output=4, B=5, T=6, seed=25, bidirectional=True, lengths=[2, 6, 5, 1, 3])
    make("packed_bi_gru_before_1layer_embedding_everystep_ce", "gru", 1, 6, "embedding", "cross_entropy",
         reset="before", B=5, T=6, seed=26, bidirectional=True, lengths=[6, 1, 3, 5, 2])
    make("packed_bi_rnn_tanh_1layer_onehot_everystep_ce", "rnn", 1, 5, "one_hot", "cross_entropy",
         B=5, T=6, seed=27, bidirectional=True, lengths=[3, 1, 6, 2, 4])
    make("packed_bi_lstm_1layer_embedding_everystep_ce", "lstm", 1, 6, "embedding", "cross_entropy",
         output=3, B=5, T=6, seed=28, bidirectional=True, lengths=[5, 2, 1, 6, 4])
