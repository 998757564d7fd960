"""Two real training processes on a CPU-only machine (gloo): both trainers keep identical weights across processes,
the 2-process PerFusion run takes the same steps as a single process, and a 2-process checkpoint resumes in one process.

`accelerate launch --cpu --num_processes 2` silently runs a single process, so the test launches with
`torch.distributed.run --nproc_per_node 2` and asserts inside the workers that there really are two.
"""
import socket
import subprocess
import sys
import textwrap

WORKER = textwrap.dedent('''
    import sys, torch, torch.distributed as dist
    from perfusion.data import FeatureVocab, build_world
    from perfusion.foundation import load_mini_clip, load_mini_sd
    from perfusion.latents import encode_latent_groups
    from perfusion.train import GenTrainConfig, build_generator_model, train_generator
    from perfusion.train_rm import RMTrainConfig, train_reward_model
    from perfusion.engine import make_accelerator

    out = sys.argv[1]
    acc = make_accelerator()
    assert acc.num_processes == 2 and dist.is_initialized() and dist.get_world_size() == 2, acc.num_processes
    assert dist.get_backend() == "gloo", dist.get_backend()

    def same_everywhere(params, what):
        flat = torch.cat([p.detach().float().flatten() for p in params])
        got = [torch.zeros_like(flat) for _ in range(2)]
        dist.all_gather(got, flat)
        assert torch.equal(got[0], got[1]), f"{what}: weights differ between the two processes"
        return flat

    ds, _ = build_world("industrial", n_groups=16, seed=0, progress=False)
    vocab = FeatureVocab.fit(ds)
    pipe = load_mini_sd(); pipe.set_progress_bar_config(disable=True)
    data = encode_latent_groups(ds, pipe, vocab, progress=False)
    cfg = GenTrainConfig(method="perfusion", max_steps=3, batch_size=4, warmup_steps=1, lr=1e-3)
    torch.manual_seed(cfg.seed)
    init = torch.cat([p.detach().flatten() for p in build_generator_model(pipe, vocab, cfg).adapter.parameters()])
    punet, log = train_generator(pipe, data, out + "/gen", cfg, vocab=vocab, accelerator=acc, progress=False)
    flat = same_everywhere(punet.adapter.parameters(), "PerFusion adapter")
    assert not torch.equal(flat, init), "the adapter did not train"
    assert all(h["groups"] == 2 for h in log["history"]), log["history"]      # each process took its half of the batch
    train_generator(pipe, data, out + "/gen_part", cfg, vocab=vocab, accelerator=acc, progress=False, stop_after=2)

    clip, proc = load_mini_clip()
    rm, rlog = train_reward_model(clip, proc, ds, out + "/rm", RMTrainConfig(max_steps=3, batch_size=8, eval_every=0), accelerator=acc, progress=False)
    same_everywhere(rm.plugins.parameters(), "PerFusionRM plug-ins")
    assert all(h["groups"] == 4 for h in rlog["history"]), rlog["history"]
    print(f"rank {acc.process_index} of {acc.num_processes}: identical weights", flush=True)
    dist.barrier(); dist.destroy_process_group()     # a clean gloo teardown: a rank exiting with the group alive can abort its peer
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def test_two_cpu_processes_train_identically(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()), str(script), str(tmp_path)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    assert "rank 0 of 2: identical weights" in r.stdout and "rank 1 of 2: identical weights" in r.stdout, r.stdout

    # The same run in this (single) process, from scratch and resumed from the 2-process checkpoint at step 2.
    import torch
    from perfusion.adapter import PersonalAdapter
    from perfusion.data import FeatureVocab, build_world
    from perfusion.foundation import load_mini_sd
    from perfusion.latents import encode_latent_groups
    from perfusion.train import GenTrainConfig, build_generator_model, train_generator
    ds, _ = build_world("industrial", n_groups=16, seed=0, progress=False)
    vocab = FeatureVocab.fit(ds)
    pipe = load_mini_sd(); pipe.set_progress_bar_config(disable=True)
    data = encode_latent_groups(ds, pipe, vocab, progress=False)
    cfg = GenTrainConfig(method="perfusion", max_steps=3, batch_size=4, warmup_steps=1, lr=1e-3)
    flat = lambda ad: torch.cat([p.detach().flatten() for p in ad.parameters()])
    torch.manual_seed(cfg.seed)
    init = flat(build_generator_model(pipe, vocab, cfg).adapter)
    two = flat(PersonalAdapter.from_pretrained(tmp_path / "gen" / "model" / "adapter"))
    one, _ = train_generator(pipe, data, tmp_path / "one", cfg, vocab=vocab, progress=False)
    resumed, log = train_generator(pipe, data, tmp_path / "gen_part", cfg, vocab=vocab, progress=False)
    assert [h["step"] for h in log["history"]][-1] == 2
    moved = float((two - init).abs().mean())
    for name, w in (("one process", flat(one.adapter)), ("resumed in one process", flat(resumed.adapter))):
        diff = float((w - two).abs().mean())
        assert diff < 1e-3 * moved, f"{name}: mean |difference| {diff:.2e} vs mean weight change {moved:.2e}"
