#!/usr/bin/env python3
"""PyTorch CPU baseline: training throughput of a recurrent model, single process or DDP (gloo).

Usage:
  python torch_rnn_bench.py --cell lstm --vocab 65 --embed 64 --hidden 256 --layers 2 --batch 64 --seq 100 --threads 1
  python torch_rnn_bench.py ... --world 2          # DDP over gloo, --batch is the GLOBAL batch
Prints one JSON line: sequences/second (global), tokens/second, step time (mean and median of
the timed steps) and rank 0's peak resident memory (MiB, getrusage ru_maxrss).
Shipped with Recur (from the shared baseline script) for launch/bench-compare; the median and
memory fields are Recur's additions, the model and step are unchanged.
"""
import argparse, json, os, resource, statistics, time

def build(args):
    import torch, torch.nn as nn
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(args.vocab, args.embed) if args.vocab > 0 else None
            inp = args.embed if args.vocab > 0 else args.input
            cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[args.cell]
            self.rnn = cls(inp, args.hidden, num_layers=args.layers, batch_first=True)
            self.head = nn.Linear(args.hidden, args.vocab if args.vocab > 0 else args.input)
        def forward(self, x):
            if self.embed is not None:
                x = self.embed(x)
            y, _ = self.rnn(x)
            return self.head(y)
    return Net()

def data(args, batch, seed):
    import torch
    g = torch.Generator().manual_seed(seed)
    if args.vocab > 0:
        x = torch.randint(0, args.vocab, (batch, args.seq), generator=g)
        y = torch.randint(0, args.vocab, (batch, args.seq), generator=g)
    else:
        x = torch.randn(batch, args.seq, args.input, generator=g)
        y = torch.randn(batch, args.seq, args.input, generator=g)
    return x, y

def run(rank, world, args, out):
    import torch, torch.nn.functional as F
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if world > 1:
        import torch.distributed as dist
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(args.port))
        dist.init_process_group("gloo", rank=rank, world_size=world)
    model = build(args)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP
        model = DDP(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    local = args.batch // world
    x, y = data(args, local, rank)
    def step():
        opt.zero_grad(set_to_none=True)
        o = model(x)
        if args.vocab > 0:
            loss = F.cross_entropy(o.reshape(-1, args.vocab), y.reshape(-1))
        else:
            loss = F.mse_loss(o, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        return loss.item()
    for _ in range(args.warmup):
        step()
    times = []
    t0 = time.perf_counter()
    for _ in range(args.steps):
        s0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - s0)
    dt = (time.perf_counter() - t0) / args.steps
    if rank == 0:
        res = dict(impl=f"torch-{torch.__version__}", cell=args.cell, hidden=args.hidden, layers=args.layers,
                   batch=args.batch, seq=args.seq, world=world, threads=args.threads,
                   step_s=dt, seq_per_s=args.batch / dt, tok_per_s=args.batch * args.seq / dt,
                   step_median_s=statistics.median(times),
                   max_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(res), flush=True)
    if world > 1:
        import torch.distributed as dist
        dist.barrier()  # no rank tears gloo down while another still uses it (it aborted otherwise)
        dist.destroy_process_group()

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    p.add_argument("--vocab", type=int, default=65)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--input", type=int, default=1)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--world", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--port", type=int, default=29533, help="DDP rendezvous port (MASTER_PORT)")
    args = p.parse_args()
    if args.world == 1:
        run(0, 1, args, None)
    else:
        import torch.multiprocessing as mp
        mp.spawn(run, args=(args.world, args, None), nprocs=args.world, join=True)

if __name__ == "__main__":
    main()
