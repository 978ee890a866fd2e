"""PyTorch mirror of a Recur model, built from a checkpoint's model.safetensors.

Recur stores parameters under the names of this module's state_dict (docs/ARCHITECTURE.md §2),
so a checkpoint loads with ``load_state_dict(strict=True)`` and nothing is renamed.

Example::

    # python3 tools/torch_model.py runs/sunspots/checkpoints/step-000120/model.safetensors
    import torch
    from torch_model import load

    model = load("runs/chars/checkpoints/step-000400/model.safetensors")
    model.eval()
    x = torch.randint(0, model.config["vocabularySize"], (50, 1))  # time-major: (seq_len, batch)
    logits, state = model(x)                                        # (seq_len, batch, vocabulary)
    print(model.metadata.keys())                                    # vocabulary, normalisation ...

Inputs are time-major like nn.LSTM's default: token ids (seq_len, batch) for ``embedding`` and
``one_hot`` inputs, float features (seq_len, batch, featureCount) for ``features``. The output is
(seq_len, batch, outputSize) for ``every_step`` heads and (batch, outputSize) for ``last_step``.
A model trained on sequences of different lengths (``data.variable_length``) takes the padded
batch and ``lengths=`` (one per sequence), as ``pack_padded_sequence``: each sequence ends at
its own last step, the reverse direction starts there, and outputs past a sequence's end are 0
before the head. Needs ``torch`` and ``safetensors``.
"""

import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class ResetBeforeGRU(nn.Module):
    """A GRU with the reset gate applied before the recurrent product (Recur's ``gru.reset: before``):

        r = σ(W_ir x + b_ir + W_hr h + b_hr)
        z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)
        h' = (1 − z) ⊙ n + z ⊙ h

    Parameter names, shapes and gate order (r, z, n) are nn.GRU's (``*_reverse`` for the backward
    direction when bidirectional), so the same state_dict keys load.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, dropout=0.0, bidirectional=False):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.directions = 2 if bidirectional else 1
        bound = hidden_size ** -0.5
        for k in range(num_layers):
            in_size = input_size if k == 0 else self.directions * hidden_size
            for sfx in ["", "_reverse"][: self.directions]:
                for name, shape in [("weight_ih", (3 * hidden_size, in_size)), ("weight_hh", (3 * hidden_size, hidden_size)),
                                    ("bias_ih", (3 * hidden_size,)), ("bias_hh", (3 * hidden_size,))]:
                    self.register_parameter(f"{name}_l{k}{sfx}", nn.Parameter(torch.empty(shape).uniform_(-bound, bound)))

    def forward(self, x, h0=None):
        """x: (seq_len, batch, input_size); h0: (num_layers·directions, batch, hidden). Returns
        (output, h_n) like nn.GRU: output (seq_len, batch, directions·hidden), forward ‖ reverse."""
        T, B, _ = x.shape
        H, D = self.hidden_size, self.directions
        if h0 is None:
            h0 = x.new_zeros(self.num_layers * D, B, H)
        finals = []
        for k in range(self.num_layers):
            per_direction = []
            for d in range(D):
                sfx = "_reverse" if d == 1 else ""
                w_ih, w_hh = getattr(self, f"weight_ih_l{k}{sfx}"), getattr(self, f"weight_hh_l{k}{sfx}")
                b_ih, b_hh = getattr(self, f"bias_ih_l{k}{sfx}"), getattr(self, f"bias_hh_l{k}{sfx}")
                seq = x if d == 0 else torch.flip(x, [0])
                gx = F.linear(seq, w_ih, b_ih)  # (T, B, 3H): all input projections at once
                h = h0[k * D + d]
                outputs = []
                for t in range(T):
                    gx_r, gx_z, gx_n = gx[t].split(H, dim=-1)
                    gh_rz = F.linear(h, w_hh[: 2 * H], b_hh[: 2 * H])
                    r = torch.sigmoid(gx_r + gh_rz[:, :H])
                    z = torch.sigmoid(gx_z + gh_rz[:, H:])
                    n = torch.tanh(gx_n + F.linear(r * h, w_hh[2 * H:], b_hh[2 * H:]))
                    h = (1 - z) * n + z * h
                    outputs.append(h)
                y = torch.stack(outputs)
                per_direction.append(y if d == 0 else torch.flip(y, [0]))
                finals.append(h)
            x = torch.cat(per_direction, dim=2)
            if self.training and self.dropout > 0 and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout)
        return x, torch.stack(finals)


class RecurModel(nn.Module):
    """``embedding`` (embedding inputs only) → ``rnn`` (nn.RNN | nn.GRU | ResetBeforeGRU | nn.LSTM) → ``head`` (nn.Linear).

    ``config`` is the ``model_config`` dict of a Recur checkpoint (the Swift ModelConfig's Codable keys).
    """

    def __init__(self, config):
        super().__init__()
        self.config = dict(config)
        c = self.config
        H, L, dropout = c["hiddenSize"], c["layers"], float(c.get("dropout", 0.0))
        self.input_kind = c["input"]
        if self.input_kind == "embedding":
            self.embedding = nn.Embedding(c["vocabularySize"], c["embeddingSize"])
            input_size = c["embeddingSize"]
        elif self.input_kind == "one_hot":
            input_size = c["vocabularySize"]
        elif self.input_kind == "features":
            input_size = c["featureCount"]
        else:
            raise ValueError(f"unknown input kind {self.input_kind!r}")
        cell = c["cell"]
        # Bidirectional models (Recur's model.bidirectional) store "reverseLayers": true.
        self.bidirectional = bool(c.get("reverseLayers", False))
        bi = dict(bidirectional=self.bidirectional)
        if cell == "rnn":
            self.rnn = nn.RNN(input_size, H, L, nonlinearity=c.get("nonlinearity", "tanh"), dropout=dropout, **bi)
        elif cell == "gru" and c.get("gruReset", "after") == "before":
            self.rnn = ResetBeforeGRU(input_size, H, L, dropout=dropout, **bi)
        elif cell == "gru":
            self.rnn = nn.GRU(input_size, H, L, dropout=dropout, **bi)
        elif cell == "lstm":
            self.rnn = nn.LSTM(input_size, H, L, dropout=dropout, **bi)
        else:
            raise ValueError(f"unknown cell {cell!r}")
        self.head = nn.Linear((2 if self.bidirectional else 1) * H, c["outputSize"])
        self.last_step = c.get("head", "every_step") == "last_step"

    def forward(self, x, state=None, lengths=None):
        """x: ids (seq_len, batch) or features (seq_len, batch, featureCount); state: the rnn's
        (h) or (h, c); lengths: each sequence's steps when they differ (padded batch). Returns
        (output, state) with output (seq_len, batch, O) or (batch, O)."""
        if self.input_kind == "embedding":
            x = self.embedding(x)
        elif self.input_kind == "one_hot":
            x = F.one_hot(x.long(), self.config["vocabularySize"]).to(self.head.weight.dtype)
        if lengths is None:
            out, state = self.rnn(x, state)
        elif isinstance(self.rnn, ResetBeforeGRU):
            # No packed form: each sequence alone, cut to its length, padded back with zeros.
            outs, finals = [], []
            for j, n in enumerate(int(v) for v in lengths):
                y, h = self.rnn(x[:n, j:j + 1], None if state is None else state[:, j:j + 1])
                outs.append(F.pad(y, (0, 0, 0, 0, 0, x.shape[0] - n)))
                finals.append(h)
            out, state = torch.cat(outs, dim=1), torch.cat(finals, dim=1)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(x, torch.as_tensor(lengths).cpu(), enforce_sorted=False)
            out, state = self.rnn(packed, state)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=x.shape[0])
        if self.last_step:
            # Bidirectional: both directions' final states (the reverse one ends at step 0).
            h_n = state[0] if isinstance(state, tuple) else state
            out = torch.cat([h_n[-2], h_n[-1]], dim=1) if self.bidirectional else h_n[-1]
        return self.head(out), state


def read_metadata(path):
    """The string metadata of a safetensors file's header."""
    from safetensors import safe_open

    with safe_open(path, framework="pt") as f:
        return f.metadata() or {}


def load(path):
    """Builds the RecurModel that ``path`` (a model.safetensors) describes and loads its parameters
    strictly. The header metadata is kept as ``model.metadata`` (vocabulary, normalisation …)."""
    from safetensors.torch import load_file

    metadata = read_metadata(path)
    if metadata.get("format") != "recur-checkpoint":
        raise ValueError(f"{path}: not a Recur model checkpoint (metadata format={metadata.get('format')!r})")
    model = RecurModel(json.loads(metadata["model_config"]))
    model.load_state_dict(load_file(path), strict=True)
    model.metadata = metadata
    return model


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 tools/torch_model.py CHECKPOINT/model.safetensors")
    m = load(sys.argv[1])
    print("model_config:", json.dumps(m.config, sort_keys=True))
    for name, tensor in m.state_dict().items():
        print(f"{name}\t{list(tensor.shape)}")
