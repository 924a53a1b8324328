"""Reference words for the normalisation that BERT's tokenizer runs before WordPiece, on texts
built to stress it: canonical reordering of combining marks, starters whose decomposition starts
with a non-starter, singletons, Hangul, compatibility ideographs, scalars newer than the
reference's tables, special lowercasing, and long runs with no space or ASCII in between (the
inputs on which normalising a whole run at once was quadratic).

Needs only Hugging Face's `tokenizers` (the Rust tokenizer sentence-transformers runs; the
version of the other fixtures):
    python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install tokenizers==0.23.3
    /tmp/tokvenv/bin/python Tests/Fixtures/minilm/make_normalization_fixtures.py [model_dir]
Writes normalization_words.json next to this script: {"tokenizers": version,
"texts": [{"text", "words"}]}, words being the normaliser's output split by the pre-tokeniser.
"""
import json, os, random, sys

import tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
model_dir = sys.argv[1] if len(sys.argv) > 1 else "models/all-MiniLM-L6-v2"
tok = tokenizers.Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))


def words(text):
    return [w for w, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(text))]


# Combining marks of many classes (1, 7, 9, 202, 214, 216, 218, 220, 222, 224, 226, 228, 230, 232, 233, 234, 240).
MARKS = [0x0334, 0x093C, 0x094D, 0x0327, 0x031B, 0x0F39, 0x302A, 0x0323, 0x0316, 0x302D, 0x302E, 0x302B,
         0x0301, 0x0300, 0x0308, 0x0304, 0x030A, 0x0315, 0x035C, 0x035D, 0x0345, 0x05B0, 0x064B, 0x0E38,
         0x0F71, 0x0F72, 0x0F74, 0x0F80, 0x1DC0, 0x20D0, 0x0F82]
# Starters that decompose, singletons, and scalars whose decomposition begins with a non-starter.
DECOMPOSING = [0x00E9, 0x00C5, 0x212B, 0x2126, 0x01D6, 0x1E69, 0x1EC7, 0x1FB7, 0x0390, 0x03D3, 0x0F73, 0x0F75,
               0x0F81, 0x0344, 0x0340, 0x0341, 0x0343, 0x0374, 0x1E9B, 0x01FA, 0x1E0A, 0x0958, 0x2ADC, 0xFB2C,
               0x1109A, 0x1D15E, 0x1D160, 0x0130, 0x03A3, 0x1E9E, 0xF900, 0xF9FF, 0xFA10, 0x2F800]
# Hangul syllables (LV and LVT), conjoining jamo, and scalars newer than Unicode 12.1 or 8.0.
HANGUL = [0xAC00, 0xAC01, 0xD4DB, 0xD7A3, 0xB098, 0x1100, 0x1161, 0x11A8, 0x1112, 0x1175, 0x11C2]
NEW = [0x11938, 0x1193B, 0x0898, 0x1E4EC, 0x11F00, 0x1FAE8, 0x0C5D, 0x08BE, 0x1E290]
PLAIN = [ord(c) for c in "aZqÉΣσςİıßﬁ中文。,.!-"] + [0x20, 0x3000, 0x00A0]

rng = random.Random(20261202)
texts = []
for i in range(3000):
    pools = [MARKS, DECOMPOSING, HANGUL, NEW, PLAIN]
    weights = [rng.random() for _ in pools]
    n = rng.randint(1, 40)
    texts.append("".join(chr(rng.choice(rng.choices(pools, weights)[0])) for _ in range(n)))
# Long runs with no ASCII and no space: normalised run by run, these were quadratic.
for n in (150, 700, 3000):
    for pools in ([MARKS, DECOMPOSING], [HANGUL, MARKS], [DECOMPOSING, NEW, MARKS], [MARKS]):
        texts.append("".join(chr(rng.choice(rng.choice(pools))) for _ in range(n)))
texts.append("é" * 5000)
texts.append("e\u0301" * 2500)

path = os.path.join(HERE, "normalization_words.json")
with open(path, "w", encoding="utf-8") as f:
    json.dump({"tokenizers": tokenizers.__version__, "texts": [{"text": t, "words": words(t)} for t in texts]},
              f, ensure_ascii=True, separators=(",", ":"))
    f.write("\n")
print(f"normalization_words.json: {len(texts)} texts, {os.path.getsize(path)} bytes")
