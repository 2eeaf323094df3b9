"""The synthetic-oracle benchmark end to end: `tge bundle --oracle`, `tge train` on an oracle
bundle (fixed-length sampling, the NLL-oracle curve in log.jsonl), `tge evaluate` with
nll-oracle, nll-test and nll-train, and the refusals."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from textgen_eval.data.bundle_meta import read_meta
from textgen_eval.data.oracle import LSTMOracle, random_params
from textgen_eval.data.oracle_bundle import build_oracle_bundle
from textgen_eval.data.oracle_variants import DEFAULT_LEVELS
from textgen_eval.generators.registry import load_generator

FIXED = ["lstm-lm", "seqgan-reinforce", "seqgan-step", "seqgan-rollout", "leakgan-leak", "leakgan-noleak",
         "leakgan-mixed", "lstm-vae", "hybrid-vae", "wgan-conv-deconv", "wgan-conv-lstm",
         "maligan", "dpgan", "rankgan", "leakgan", "cot", "jsdgan", "relgan", "gsgan", "textgan",
         "transformer-lm"]  # fmt: skip
VAE_TINY = ["model.emb_dim=4", "model.hidden_size=8", "model.latent_size=2", "runner.max_epochs=2",
            "train.batch_size=32", "vae.iw_samples=3"]  # fmt: skip
LM_TINY = ["model.emb_dim=4", "model.hidden_size=8", "runner.max_epochs=2", "train.batch_size=32"]
HYBRID_TINY = ["model.channels=4", "model.feature_size=4", "model.head_size=8", "model.emb_dim=4",
               "model.latent_size=2", "runner.max_epochs=2", "train.batch_size=32",
               "vae.iw_samples=3"]  # fmt: skip
# default layers = 3: the oracle's length 5 is not divisible by 2^3 (the deconvolution is cropped)
WGAN_TINY = ["model.noise_dim=4", "critic.channels=8", "critic.blocks=1", "wgan.n_critic=2",
             "wgan.gen_iters=6", "wgan.eval_every=3", "wgan.eval_samples=20", "train.batch_size=32",
             "model.channels=8", "model.hidden_size=8", "model.emb_dim=4"]  # fmt: skip
TINY = {"lstm-lm": LM_TINY, "lstm-vae": VAE_TINY, "hybrid-vae": HYBRID_TINY,
        "wgan-conv-deconv": [x for x in WGAN_TINY if not x.startswith(("model.hidden", "model.emb"))],
        "wgan-conv-lstm": [x for x in WGAN_TINY if not x.startswith("model.channels")]}  # fmt: skip
GAN_TINY = ["model.emb_dim=4", "model.hidden_size=8", "discriminator.emb_dim=4",
            "discriminator.hidden_size=8", "gan.pretrain_epochs=1", "gan.pretrain_d_steps=2",
            "gan.adversarial_steps=6", "gan.d_steps=2", "gan.rollouts=2", "gan.eval_every=3",
            "train.batch_size=32"]  # fmt: skip
# RankGAN's discriminator is a CNN ranker (no hidden_size)
TINY["rankgan"] = [x for x in GAN_TINY if not x.startswith("discriminator.hidden")] + [
    "discriminator.num_filters=[4,4,4]", "rankgan.reference_size=4", "rankgan.comparison_size=8"]  # fmt: skip
TINY["jsdgan"] = LM_TINY
TINY["transformer-lm"] = ["model.n_embd=8", "model.n_head=2", "model.n_layer=1", "model.context=6",
                          "model.max_len=5", "runner.max_epochs=2", "train.batch_size=32"]  # fmt: skip
TINY["textgan"] = [*TINY["rankgan"][:-2], "textgan.z_dim=4", "textgan.likelihood_samples=2"]
TINY["relgan"] = ["model.emb_dim=4", "model.head_size=4", "discriminator.emb_dim=8",
                  "discriminator.num_rep=4", "discriminator.num_filters=[4,4,4,4]", "gan.pretrain_epochs=1",
                  "gan.adversarial_steps=6", "gan.d_steps=2", "gan.eval_every=3",
                  "train.batch_size=32"]  # fmt: skip
TINY["cot"] = ["model.emb_dim=4", "model.hidden_size=8", "gan.adversarial_steps=6", "gan.eval_every=3",
               "train.batch_size=32"]  # fmt: skip
TINY["leakgan"] = [x for x in GAN_TINY if not x.startswith("discriminator.hidden")] + [
    "discriminator.num_filters=[4,4,4]", "leakgan.goal_size=4"]  # fmt: skip


def _sets(assignments: list[str]) -> list[str]:
    return [item for a in assignments for item in ("--set", a)]


def make_tiny_oracle(out: Path) -> Path:
    """A random oracle over 20 tokens, sequences of 5, 200 per split."""
    params = random_params(1, vocab_size=20, emb_dim=4, hidden_size=4)
    build_oracle_bundle(out, oracle="random", length=5, n=200, seed=1, params=params)
    return out


@pytest.fixture(scope="module")
def oracle_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_oracle(tmp_path_factory.mktemp("oracles") / "tiny-oracle")


@pytest.fixture(scope="module")
def toy_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Vocabulary 3, length 2: every model's distribution can be enumerated (9 sequences)."""
    out = tmp_path_factory.mktemp("oracles") / "toy-oracle"
    build_oracle_bundle(out, oracle="random", length=2, n=200, seed=2, params=random_params(2, vocab_size=3,
                        emb_dim=2, hidden_size=2))  # fmt: skip
    return out


def _lines_are_fixed(lines: list[str], length: int, vocab: int) -> None:
    for line in lines:
        ids = line.split()
        assert len(ids) == length, line
        assert all(tok.isdigit() and int(tok) < vocab for tok in ids), line


@pytest.mark.parametrize("name", FIXED)
def test_every_fixed_length_generator_trains_and_samples_exactly_l_ids(
    name: str, tge, oracle_bundle: Path, tmp_path: Path
) -> None:
    out = tmp_path / name
    sizes = TINY.get(name, GAN_TINY)
    run = tge("train", name, "--data", oracle_bundle, "--out", out, "--no-progress", *_sets(sizes))
    assert run.code == 0, run.err
    assert json.loads((out / "model" / "format.json").read_text())["length"] == 5
    recorded = json.loads((out / "run.json").read_text())["config"]["model"]["model"]
    if name == "hybrid-vae":  # the structural length is the corpus's, in the run and the saved model
        assert recorded["length"] == 5
    if name.startswith("wgan"):
        assert recorded["seq_len"] == 5
    sample = tge("sample", out, "-n", "300", "--seed", "0", "--max-len", "50", "--no-progress")
    assert sample.code == 0, sample.err
    lines = sample.out.splitlines()
    assert len(lines) == 300
    _lines_are_fixed(lines, 5, 20)
    model = load_generator(out)
    if not name.startswith("wgan"):  # the WGANs define no likelihood
        scores = model.score_texts(lines[:10])
        assert (scores.tokens == 5).all()  # every position scored, no EOS
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    probes = [r for r in log if r["event"] == "oracle"]
    assert probes[0]["index"] == -1 and probes[0]["step"] == 0 and probes[0]["n"] == 9984
    assert all(np.isfinite(r["nll_oracle"]) for r in probes)
    if name in ("lstm-lm", "lstm-vae", "hybrid-vae", "jsdgan", "transformer-lm"):
        assert [r["index"] for r in probes] == [-1, 0, 1]  # after epoch 1, then the stage's end
    else:  # adversarial batches 0 and 5 (after the 1st and 6th update), as SeqGAN's log, and the end;
        # D's epochs (12 D batches of 32 over 200 lines: one ends mid-stage; the WGANs' critic
        # reads 12 batches too) probe nothing
        adversarial = [(r["index"], r.get("updates")) for r in probes if r["stage"] == "adversarial"]
        assert adversarial == [(0, 1), (5, 6)], adversarial


@pytest.mark.parametrize("name", ["lstm-lm", "seqgan-step", "leakgan-mixed", "transformer-lm"])
def test_model_is_a_distribution_over_exactly_the_fixed_length_sequences(
    name: str, tge, toy_bundle: Path, tmp_path: Path
) -> None:
    """The 9 sequences of the toy format carry all the model's mass: EOS, UNK, PAD and BOS get none."""
    out = tmp_path / name
    sizes = TINY.get(name, GAN_TINY)
    assert tge("train", name, "--data", toy_bundle, "--out", out, "--no-progress", *_sets(sizes)).code == 0
    model = load_generator(out)
    seqs = [" ".join(map(str, s)) for s in itertools.product(range(3), repeat=2)]
    nll = model.score_texts(seqs).nll
    assert float(np.exp(-nll).sum()) == pytest.approx(1.0, abs=1e-5)


def test_evaluate_run_dir_reports_nll_test_and_train(tge, oracle_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "lm"
    assert (
        tge("train", "lstm-lm", "--data", oracle_bundle, "--out", out, "--no-progress", *_sets(LM_TINY)).code
        == 0
    )
    run = tge(
        "evaluate", out, "--samples", "200", "-m", "nll-oracle,bleu-2,nll-test,nll-train", "--format", "json",
        "--no-progress",
    )  # fmt: skip
    assert run.code == 0, run.err
    scores = {m["name"]: m for m in json.loads(run.out)["metrics"]}
    assert set(scores) == {"nll-oracle", "bleu-2", "nll-test", "nll-train"}
    # the model's own metrics only when asked for (or with the default metrics); model-nll is a text
    # bundle's, refused here with the name to use
    samples_only = tge(
        "evaluate", out, "--samples", "200", "-m", "nll-oracle", "--format", "json", "--no-progress"
    )
    assert {m["name"] for m in json.loads(samples_only.out)["metrics"]} == {"nll-oracle"}
    wrong = tge("evaluate", out, "-m", "model-nll", "--no-progress")
    assert wrong.code == 2 and "-m model-nll" in wrong.err and "nll-test" in wrong.err
    model = load_generator(out)
    test = (oracle_bundle / "test.txt").read_text().splitlines()
    expected = float(model.score_texts(test).nll.sum()) / (5 * len(test))
    assert scores["nll-test"]["value"] == pytest.approx(expected, rel=1e-12)
    assert scores["nll-test"]["n"] == 200 and "eos:no" in scores["nll-test"]["signature"]
    assert "training data" in scores["nll-train"]["details"]["synonym"]
    sig = scores["nll-oracle"]["signature"]
    assert "oracle:random@" in sig and "len:5" in sig and "n:200" in sig and "temp:1" in sig
    assert scores["nll-oracle"]["details"]["entropy_rate"] == read_meta(oracle_bundle).oracle.entropy_rate  # type: ignore[union-attr]


def test_nll_oracle_of_the_held_out_split_is_the_recorded_entropy(tge, oracle_bundle: Path) -> None:
    run = tge(
        "evaluate",
        oracle_bundle / "test.txt",
        "--bundle",
        oracle_bundle,
        "-m",
        "nll-oracle",
        "--format",
        "json",
    )
    assert run.code == 0, run.err
    (score,) = json.loads(run.out)["metrics"]
    assert score["value"] == pytest.approx(score["details"]["entropy_rate"], abs=1e-6)
    assert "entropy rate" in run.err


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1 2 3 4", "line 2: 4 tokens; expected exactly 5"),
        ("1 2 3 4 x", "line 2: token 5 is 'x'"),
        ("1 2 3 4 2.5", "token 5 is '2.5'"),
        ("1 2 3 4 20", "token id 20 is outside"),
        ("", "line 2: 0 tokens"),
    ],
)
def test_nll_oracle_refuses_malformed_samples(
    tge, oracle_bundle: Path, tmp_path: Path, line: str, message: str
) -> None:
    samples = tmp_path / "samples.txt"
    samples.write_text(f"0 1 2 3 4\n{line}\n0 0 0 0 0\n", encoding="utf-8")
    run = tge("evaluate", samples, "--bundle", oracle_bundle, "-m", "nll-oracle")
    assert run.code == 2 and message in run.err and "samples.txt" in run.err and "Traceback" not in run.err


def test_nll_oracle_needs_an_oracle_bundle(tge, tmp_path: Path) -> None:
    samples = tmp_path / "s.txt"
    samples.write_text("a man\n", encoding="utf-8")
    run = tge("evaluate", samples, "-m", "nll-oracle")
    assert run.code == 2 and "has no oracle" in run.err


def test_bundle_command_draws_an_oracle_bundle(tge, tmp_path: Path) -> None:
    out = tmp_path / "b"
    run = tge("bundle", out, "--oracle", "random", "--length", "3", "--n", "50", "--seed", "9")
    assert run.code == 0, run.err
    meta = read_meta(out)
    assert meta.format is not None and (meta.format.length, meta.format.vocab_size) == (3, 5000)
    assert meta.oracle is not None and meta.oracle.origin == "random:seed=9"
    for split in ("train", "valid", "test"):
        _lines_are_fixed((out / f"{split}.txt").read_text().splitlines(), 3, 5000)
    # the same command draws the same bundle; the oracle is the one random_params(9) makes
    again = tmp_path / "c"
    assert tge("bundle", again, "--oracle", "random", "--length", "3", "--n", "50", "--seed", "9").code == 0
    assert (out / "test.txt").read_bytes() == (again / "test.txt").read_bytes()
    assert meta.oracle.digest == LSTMOracle(random_params(9)).params.digest
    refused = tge("bundle", out, "--oracle", "random")
    assert refused.code == 2 and "not an empty directory" in refused.err


def test_bundle_command_draws_from_seqgans_oracle_at_length_40(tge, tmp_path: Path) -> None:
    out = tmp_path / "s40"
    assert tge("bundle", out, "--oracle", "seqgan", "--length", "40", "--n", "2000").code == 0
    meta = read_meta(out)
    assert meta.oracle is not None and meta.oracle.digest == "0c2f88e8d7f7"
    assert meta.oracle.entropy_rate == pytest.approx(5.739, abs=0.04)  # PEERS.md §1.7 at T = 40


def test_meta_eval_oracle_scores_checkpoints_by_temperatures_against_the_truth(
    tge, oracle_bundle: Path, tmp_path: Path
) -> None:
    out = tmp_path / "meta"
    args = ["meta-eval", "--oracle", "--bundle", oracle_bundle, "--out", out, "--checkpoints", "1,2",
            "--temperatures", "0.5,1,2", "--n", "100", "-m", "nll-oracle,bleu-2", "--format", "json",
            "--no-progress"]  # fmt: skip
    run = tge(*args)
    assert run.code == 0, run.err
    summary = json.loads(run.out)
    points = [p for p in summary["points"] if p["family"] == "mle"]
    assert [(p["epoch"], p["temperature"]) for p in points] == [
        (e, t) for e in (1, 2) for t in (0.5, 1.0, 2.0)
    ]
    # then the degraded oracles, every family at its default levels, with exact truths
    variants = [p for p in summary["points"] if p["family"] != "mle"]
    assert [(p["family"], p["level"]) for p in variants] == [
        (f, level) for f, levels in DEFAULT_LEVELS.items() for level in levels
    ]
    truths = {
        f: [(p["nll_oracle"], p["nll_test"]) for p in variants if p["family"] == f] for f in DEFAULT_LEVELS
    }
    assert [c for _, c in truths["noise"]] == sorted(c for _, c in truths["noise"])  # coverage falls
    assert [q for q, _ in truths["noise"]] == sorted(q for q, _ in truths["noise"])  # and quality
    assert [c for _, c in truths["collapse"]] == sorted(c for _, c in truths["collapse"])
    assert set(summary["by_family"]) == {"mle", *DEFAULT_LEVELS}
    for p in summary["points"]:  # the truth column is the metric scored on the same samples
        assert p["values"]["nll-oracle"] == pytest.approx(p["nll_oracle"], abs=1e-9)
    verdicts = {v["metric"]: v for v in summary["verdicts"]}
    assert verdicts["nll-oracle"]["rho_quality"] == pytest.approx(1.0)
    assert "Per family" in (out / "oracle-meta-eval.md").read_text()
    assert verdicts["nll-oracle"]["verdict"] in ("tracks quality", "tracks both")
    # temperature is a truth dial: at every checkpoint, T = 0.5 samples please the oracle more than T = 2
    for epoch in (1, 2):
        cold, hot = (
            next(p for p in points if p["epoch"] == epoch and p["temperature"] == t) for t in (0.5, 2.0)
        )
        assert cold["nll_oracle"] < hot["nll_oracle"]
    assert (out / "oracle-meta-eval.md").is_file() and (out / "mle" / "checkpoints" / "epoch-2.pt").is_file()
    # resumable: the same command scores nothing again; other settings are refused
    lines = (out / "points.jsonl").read_text()
    assert tge(*args).code == 0 and (out / "points.jsonl").read_text() == lines
    other = tge(*[("50" if a == "100" else a) for a in args])
    assert other.code == 2 and "other settings" in other.err


def test_tempered_nll_test_is_the_exact_nll_at_temperature_one(
    tge, oracle_bundle: Path, tmp_path: Path
) -> None:
    from textgen_eval.pipelines.oracle_meta_eval import tempered_nll_test

    out = tmp_path / "lm"
    assert (
        tge("train", "lstm-lm", "--data", oracle_bundle, "--out", out, "--no-progress", *_sets(LM_TINY)).code
        == 0
    )
    model = load_generator(out)
    test = (oracle_bundle / "test.txt").read_text().splitlines()
    exact = float(model.score_texts(test).nll.sum()) / (5 * len(test))
    assert tempered_nll_test(model, test, 1.0) == pytest.approx(exact, rel=1e-6)
    # a temperature is a distribution too: its probabilities over all 20^5 sequences are not
    # enumerable here, but T → 0 concentrates on one sequence, so held-out NLL blows up
    assert tempered_nll_test(model, test, 0.05) > tempered_nll_test(model, test, 1.0)


def test_meta_eval_oracle_refuses_a_plain_bundle_and_degradation_options(tge, tmp_path: Path) -> None:
    run = tge("meta-eval", "--oracle", "--bundle", "coco", "--out", tmp_path / "m", "--no-progress")
    assert run.code == 2 and "synthetic-oracle bundle" in run.err
    run = tge("meta-eval", "--oracle", "--rates", "0,0.1", "--out", tmp_path / "m2")
    assert run.code == 2 and "--rates" in run.err
    run = tge("meta-eval", "--oracle", "--degradations", "swap", "--out", tmp_path / "m4")
    assert run.code == 2 and "unknown oracle degradation 'swap'" in run.err and "Traceback" not in run.err
    run = tge("meta-eval", "--checkpoints", "1,2", "--out", tmp_path / "m3")
    assert run.code == 2 and "go with --oracle" in run.err


def test_an_interrupted_run_logs_the_same_oracle_curve_as_an_uninterrupted_one(
    oracle_bundle: Path, tmp_path: Path
) -> None:
    """Ctrl-C mid-epoch, then resume: the NLL-oracle records are those of an uninterrupted run,
    none twice (the probe draws from its own seeded generator, so it does not change training)."""
    import os
    import signal

    from textgen_eval.core.errors import TrainingInterrupted
    from textgen_eval.pipelines.modalities import training_data
    from textgen_eval.pipelines.train import fit_model, resolve_config
    from textgen_eval.training.callbacks import Callback

    class CtrlC(Callback):
        def on_step(self, runner, state, losses) -> None:  # type: ignore[no-untyped-def]
            if state.step == 9:
                os.kill(os.getpid(), signal.SIGINT)

    overrides = {"model.emb_dim": "4", "model.hidden_size": "8", "runner.max_epochs": "7",
                 "train.batch_size": "32", "runner.checkpoint_every": "4"}  # fmt: skip
    data = training_data("text", bundle=str(oracle_bundle), train=None, valid=None)

    def curve(out: Path) -> list[tuple[int, float]]:
        records = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
        return [(r["step"], r["nll_oracle"]) for r in records if r["event"] == "oracle"]

    straight = tmp_path / "straight"
    fit_model("lstm-lm", resolve_config("lstm-lm", None, overrides), data, out=straight)
    cut = tmp_path / "cut"
    with pytest.raises(TrainingInterrupted):
        fit_model(
            "lstm-lm", resolve_config("lstm-lm", None, overrides), data, out=cut, extra_callbacks=[CtrlC()]
        )
    fit_model("lstm-lm", resolve_config("lstm-lm", None, overrides), data, out=cut, resume=True)
    assert curve(cut) == curve(straight)
    assert [s for s, _ in curve(straight)] == [
        0,
        7,
        42,
        49,
    ]  # untrained, epochs 1 and 6, the end (7 batches an epoch)


def test_default_metrics_lead_with_nll_oracle_on_an_oracle_bundle(oracle_bundle: Path) -> None:
    from textgen_eval.pipelines.evaluate import DEFAULT_METRICS, SLOW_METRICS, metric_names

    assert metric_names(None, fast=False, bundle=str(oracle_bundle)) == ["nll-oracle", *DEFAULT_METRICS]
    fast = [m for m in DEFAULT_METRICS if m not in SLOW_METRICS]
    assert metric_names(None, fast=True, bundle="seqgan-oracle") == ["nll-oracle", *fast]
    assert metric_names(None, fast=False, bundle="coco") == list(DEFAULT_METRICS)
    assert metric_names("bleu-2", fast=False, bundle="seqgan-oracle") == ["bleu-2"]


@pytest.mark.parametrize(
    ("name", "sizes"),
    [("hybrid-vae", {"model.head": "lstm"}), ("hybrid-vae", {"model.head": "none"}),
     ("hybrid-vae", {"model.head": "bytenet"}), ("wgan-conv-deconv", {}), ("wgan-conv-lstm", {})],
)  # fmt: skip
def test_non_recurrent_generators_give_special_tokens_no_mass_on_a_fixed_length_corpus(
    name: str, sizes: dict[str, str], oracle_bundle: Path
) -> None:
    """On token ids PAD, BOS, EOS and UNK have exactly zero probability at every position (the
    hybrid's head and auxiliary softmax, every WGAN softmax the critic reads), and the
    structural length is the corpus's."""
    from textgen_eval.core.config import build_sections
    from textgen_eval.generators.registry import model_class
    from textgen_eval.generators.vae.hybrid import HybridVAE

    cls = model_class(name)
    model = cls(build_sections(cls.config_sections, None, sizes))
    fmt = read_meta(oracle_bundle).format
    model.use_format(fmt)
    lines = (oracle_bundle / "train.txt").read_text().splitlines()
    train, _ = model.prepare_corpora(lines, None)
    torch.manual_seed(0)
    if isinstance(model, HybridVAE):
        assert model.cfg.length == 5
        net = model.build_net().eval()
        z = torch.randn(4, net.latent_size)
        batch = torch.from_numpy(model.prepare_batch(train.sequences[0][None].repeat(4, 0)))
        logits = [net.head_logits(net.features(z), batch[:, :-1]), net.aux_logits(net.features(z))]
        decoder = net.latent_decoder(z)
        step, _ = decoder.step(batch[:, 0], None)  # the sampler's first step
        logits.append(step.unsqueeze(1).expand(4, 5, -1))
    else:
        assert model.configs["model"].seq_len == 5
        gen = model.build_module().gen.eval()
        logits = [gen(torch.randn(4, gen.noise_dim))]
    for out in logits:
        assert out.shape[:2] == (4, 5)
        probs = torch.softmax(out.detach(), dim=-1)
        assert float(probs[..., :4].abs().max()) == 0.0  # PAD, BOS, EOS, UNK
        assert torch.allclose(probs.sum(-1), torch.ones(4, 5))


def test_probe_size_and_frequency_are_settings_that_may_change_on_resume(
    tge, oracle_bundle: Path, tmp_path: Path
) -> None:
    """`runner.probe_samples` (0: off) and `runner.probe_every` set the curve; the probe never
    changes training, so a resumed run may change them."""
    out = tmp_path / "lm"
    sets = _sets([*LM_TINY[:-2], "runner.max_epochs=3", "train.batch_size=32"])
    run = tge("train", "lstm-lm", "--data", oracle_bundle, "--out", out, "--no-progress", *sets,
              "--set", "runner.probe_samples=300", "--set", "runner.probe_every=2")  # fmt: skip
    assert run.code == 0, run.err
    probes = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines() if '"oracle"' in x]
    assert [(r["index"], r["n"]) for r in probes] == [(-1, 300), (0, 300), (2, 300)]  # epochs 1 and 3
    off = tmp_path / "off"
    run = tge("train", "lstm-lm", "--data", oracle_bundle, "--out", off, "--no-progress", *sets,
              "--set", "runner.probe_samples=0")  # fmt: skip
    assert run.code == 0 and '"oracle"' not in (off / "log.jsonl").read_text()
    # same weights with and without probes: the probe draws its own random numbers
    a = load_generator(out).score_texts(["1 2 3 4 5"]).nll
    b = load_generator(off).score_texts(["1 2 3 4 5"]).nll
    np.testing.assert_array_equal(a, b)
    refused = tge("train", "lstm-lm", "--data", oracle_bundle, "--out", tmp_path / "x", "--no-progress",
                  "--set", "runner.probe_every=0")  # fmt: skip
    assert refused.code == 2 and "probe_every must be ≥ 1" in refused.err


@pytest.mark.parametrize("name", ["leakgan", "relgan"])
def test_tune_the_peers_models_with_budget_4_and_2_retrains(
    name: str, tge, oracle_bundle: Path, tmp_path: Path
) -> None:
    """`tge tune leakgan|relgan --budget 4 --retrain 2` (issues 30 and 31, "done when"), at tiny sizes:
    four search trials drawn from the model's own space, its best retrained with two seeds."""
    out = tmp_path / "tune"
    tiny = [a for a in TINY[name] if not a.startswith("gan.d_steps=")]  # searched by both spaces
    run = tge("tune", name, "--data", oracle_bundle, "--budget", "4", "--retrain", "2", "--samples", "40",
              "--metrics", "nll-oracle,fd", "--out", out, "--no-progress", *_sets(tiny))  # fmt: skip
    assert run.code == 0, run.err
    (data,) = json.loads(tge("report", out, "--format", "json", "--no-real-data").out)["runs"]
    assert data["generator"] == name and data["trials"]["complete"] == 4
    assert data["retrain"]["trials"]["complete"] == 2
    drawn = {json.dumps(row["params"], sort_keys=True) for row in data["search"]}
    assert len(drawn) == 4  # four configurations drawn from the model's space
