"""Reference fixtures for Heed's BERT tokenizer and (later) its all-MiniLM-L6-v2 embeddings.

Run with the venv that has sentence-transformers, from the repository root:
    /tmp/torchvenv/bin/python Tests/Fixtures/minilm/make_minilm_fixtures.py [model_dir]
model_dir defaults to models/all-MiniLM-L6-v2. Writes, next to this script:
  tokens.json      [{"text", "input_ids"}]: tricky texts, the ids sentence-transformers feeds the model
  fuzz_tokens.json [{"text", "input_ids"}]: seeded random strings from mixed Unicode blocks
  unicode_sweep.json  per 4096-code-point block, an FNV-1a hash of the reference's normalised
                   and pre-tokenised words for "a" + c + "a", every scalar c (a complete check of the
                   per-character tables, which differ between Unicode versions)
  embeddings.json  model.encode of a few sentences, with their ids and the library versions
The reference is the fast (Rust) tokenizer of SentenceTransformer(model_dir), truncated to
max_seq_length; the script asserts that model.tokenize gives the same ids.
"""
import json, os, random, sys, warnings

warnings.simplefilter("ignore")
import numpy as np
import sentence_transformers, tokenizers, torch, transformers
from sentence_transformers import SentenceTransformer

HERE = os.path.dirname(os.path.abspath(__file__))
model_dir = sys.argv[1] if len(sys.argv) > 1 else "models/all-MiniLM-L6-v2"
model = SentenceTransformer(model_dir, device="cpu")
tok = model.tokenizer
assert tok.is_fast, "the reference is the Rust fast tokenizer"
max_len = model.max_seq_length

long_english = " ".join(
    f"Sentence number {i} talks about tokenizers, embeddings and the weather in city {i % 7}." for i in range(40))
exactly_100 = "a" * 100
over_100 = "b" * 101

TEXTS = [
    # plain English and punctuation
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar.",
    "unaffable tokenization of unbelievably rare words: pneumonoultramicroscopicsilicovolcanoconiosis",
    "Wait... what?!?! (really) [maybe] {no} <yes> \"quoted\" 'single'",
    "!!!???...,,,;;;:::---___***",
    "e-mail re-enter co-operate state-of-the-art",
    "don't can't won't it's O'Neil rock'n'roll",
    "I paid $3.50 for 2,000,000 items; that's 0.000175 each (≈1.75e-4).",
    "1234567890 3.14159 -42 +7 1e10 0x1F 12:30pm 2024-01-31",
    "#hashtag @mention ~tilde `backtick` ^caret |pipe| \\backslash/",
    "https://www.example.com/path?query=1&b=two#frag and mail me at john.doe@example.org",
    "UPPER lower MiXeD CaSe",
    # accents, case mapping
    "café naïve résumé coöperate façade",
    "Ångström ÉCOLE Ñandú Øresund Łódź Straße",
    "İstanbul ıstanbul DİYARBAKIR Iı İi",
    "Σίσυφος ΟΔΥΣΣΕΥΣ σοφός ΣΟΦΟΣ",
    "ß ẞ ﬁ ﬂ ǅ ǈ Ǳ",
    "e\u0301 a\u0300\u0301 o\u0308\u0304 combining marks after base letters",
    "\u0301leading combining mark and \u20dd enclosing circle",
    "q\u0323\u0307 vs q\u0307\u0323 canonical ordering",
    # scripts
    "这是一个中文句子，包含标点。",
    "日本語のテキストです。カタカナとひらがな。",
    "한국어 문장입니다. 안녕하세요!",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ！？",
    "مرحبا بالعالم، هذا نص عربي.",
    "שלום עולם, זה טקסט בעברית.",
    "नमस्ते दुनिया, यह हिंदी पाठ है।",
    "สวัสดีชาวโลก นี่คือข้อความภาษาไทย",
    "Привет, мир! Ёжик в тумане.",
    "Γειά σου Κόσμε",
    "𠀀 𪜀 豈 \U0002F800 CJK extension and compatibility ideographs",
    "ㄅㄆㄇ ㆍ ᄀᄁ Bopomofo and jamo",
    # symbols and emoji
    "∑ ∫ √ ∞ ≠ ≤ ≥ ± × ÷ ∂ ∇ ∈ ∉",
    "€100 £50 ¥1000 ₹500 ₿0.1 ¢ ₩",
    "I love it 😀😃😄!! 👍🏽 👩‍👩‍👧‍👦 ❤️ 🏳️‍🌈",
    "flags 🇺🇸🇫🇷🇯🇵 and keycap 1️⃣ and 🥰 🫠 (newer emoji)",
    "★☆♠♣♥♦ ©®™ §¶†‡ ← → ↑ ↓",
    # invisible and control characters
    "zero\u200bwidth\u200cnon\u200djoiner",
    "\ufeffBOM at start and\ufeffinside",
    "soft\u00adhyphen and word\u2060joiner",
    "ctrl\u0001char\u0002s\u007fdel\u0085nel\u0000nul",
    "vertical\u000btab form\u000cfeed file\u001csep",
    "nbsp\u00a0space\u2003em\u2009thin\u3000ideographic\u202fnarrow\u1680ogham",
    "tabs\tand\nnew\r\nlines\u2028ls\u2029ps",
    "replacement \ufffd char and private \ue000\uf8ff\U000f0000 use",
    "unassigned \u0378 \U0001fb00 \U000e0001 tag \U000e0041",
    "mongolian\u180evowel sep and LRM\u200e RLM\u200f bidi\u202a\u202c",
    "new punctuation \u2e43 \u2e52 and changed \u166d \U000111c9 \u1734",
    # special tokens in the text
    "hello [MASK] world [SEP] again",
    "[CLS][UNK]x[PAD]",
    "[cls] lowercase is not special, nor is [MASK",
    # edges
    "",
    " ",
    "   \t\n  ",
    "a",
    ".",
    exactly_100,
    over_100,
    "prefix " + over_100 + " suffix " + exactly_100,
    "x" * 20 + "é" * 80,
    "é" * 101,
    long_english,
    "word " * 300,
]


def ids_of(text):
    return tok(text, truncation=True, max_length=max_len)["input_ids"]


def check_same_as_sentence_transformers(texts):
    features = model.tokenize(texts)
    for i, text in enumerate(texts):
        n = int(features["attention_mask"][i].sum())
        got = features["input_ids"][i][:n].tolist()
        assert got == ids_of(text), f"model.tokenize differs for {text!r}"


def write(name, obj):
    path = os.path.join(HERE, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"{name}: {os.path.getsize(path)} bytes")


check_same_as_sentence_transformers(TEXTS)
write("tokens.json", [{"text": t, "input_ids": ids_of(t)} for t in TEXTS])

# Random strings from blocks where the rules differ: ASCII, Latin with accents, combining marks,
# Greek, Cyrillic, CJK, kana, Hangul, punctuation, controls and formats, emoji, private use,
# scalars assigned after Unicode 8, and whitespace.
BLOCKS = [(0x20, 0x7E), (0x00, 0x1F), (0xA0, 0x17F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF),
          (0x590, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF), (0x1680, 0x1680),
          (0x1DC0, 0x1DFF), (0x2000, 0x206F), (0x2100, 0x22FF), (0x2E00, 0x2E5F), (0x3000, 0x30FF),
          (0x3400, 0x3410), (0x4E00, 0x4E80), (0xAC00, 0xAC80), (0xE000, 0xE010), (0xF900, 0xF910),
          (0xFE00, 0xFE0F), (0xFEFF, 0xFF65), (0x1F300, 0x1FAFF), (0x1E900, 0x1E95F), (0x20000, 0x20010)]
rng = random.Random(20240531)
fuzz = []
while len(fuzz) < 1000:
    blocks = rng.sample(BLOCKS, 3)
    chars = []
    for _ in range(rng.randint(1, 14)):
        lo, hi = rng.choice(blocks)
        chars.append(chr(rng.randint(lo, hi)) if rng.random() < 0.8 else " ")
    text = "".join(c for c in chars if not 0xD800 <= ord(c) <= 0xDFFF)
    fuzz.append(text)
check_same_as_sentence_transformers(fuzz)
write("fuzz_tokens.json", [{"text": t, "input_ids": ids_of(t)} for t in fuzz])

# Every scalar's normalised words, hashed per block (FNV-1a 64 over the UTF-8 of the words of
# "a" + c + "a" joined by " ", one line per code point, surrogates skipped).
backend = tok.backend_tokenizer


def words(text):
    return [w for w, _ in backend.pre_tokenizer.pre_tokenize_str(backend.normalizer.normalize_str(text))]


def fnv1a(data, h=0xCBF29CE484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


BLOCK = 4096
sweep = []
for start in range(0, 0x110000, BLOCK):
    lines = [" ".join(words("a" + chr(c) + "a")) for c in range(start, start + BLOCK) if not 0xD800 <= c <= 0xDFFF]
    sweep.append(f"{fnv1a(chr(10).join(lines).encode('utf-8')):016x}")
write("unicode_sweep.json", {"block": BLOCK, "context": ["a", "a"], "hashes": sweep})

# Embeddings: the model's own modules end in Normalize, so these are unit vectors already.
SENTENCES = [
    "This is an example sentence.",
    "Each sentence is converted.",
    "A man is eating food.",
    "The weather is lovely today, isn't it?",
    "Café naïve Ångström: 这是一个中文句子。日本語のテキスト。",
    "",
    long_english,  # about 300 tokens: truncated to max_seq_length
    "Hi",
]
embeddings = model.encode(SENTENCES, batch_size=4, convert_to_numpy=True, normalize_embeddings=False)
write("embeddings.json", {
    "versions": {"sentence_transformers": sentence_transformers.__version__,
                 "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                 "torch": torch.__version__, "numpy": np.__version__},
    "max_seq_length": max_len,
    "sentences": [{"text": t, "input_ids": ids_of(t), "embedding": [float(x) for x in e.astype(np.float32)]}
                  for t, e in zip(SENTENCES, embeddings)],
})
