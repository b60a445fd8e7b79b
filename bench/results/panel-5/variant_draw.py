"""Panel 5 variant, as drawn before it became code: halves the sampler wrote twice or more in one
pool (its modal halves) are dropped. Run: python variant_draw.py FIRST_SEED LAST_SEED > variant.jsonl
(from a checkout before the MODAL rule, e.g. commit 968c673)."""
import json, sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
from bot.curation import mashups, candidates
from bot.curation.evidence import Evidence
from bot.model.modelfile import ModelPaths, load_model
from bot.model.sampler import Sampler

orig_generate = Sampler.generate
counts = Counter()
def counting(self, *a, **k):
    out = orig_generate(self, *a, **k)
    counts.update(out)
    return out
Sampler.generate = counting
orig = mashups.sample_halves
def sample_halves(*a, **k):
    halves = orig(*a, **k)
    return [h for h in halves if counts[h.text] < 2]
mashups.sample_halves = sample_halves
paths = ModelPaths.in_directory(ROOT / "model_weights")
s = Sampler(load_model(paths)); ev = Evidence.load(ROOT / "model_weights", "mashup")
out = []
for seed in range(int(sys.argv[1]), int(sys.argv[2]) + 1):
    counts.clear()
    pool = candidates.build_pool(s, ev, 300, [0.5, 0.7, 0.9], seed=seed)
    c = pool.best
    out.append(json.dumps({"text": c.text, "score": c.score, "features": c.features}))
print("\n".join(out))
