/**
 * Text that breaks tokenizers: whitespace runs, CRLF, digits, contractions, code, URLs, emoji
 * sequences, many scripts, decomposed accents, special-token strings inside text, long words.
 * Plus a seeded generator that splices such fragments together at random.
 */

export const SPECIAL_STRINGS = [
  "<|endoftext|>", "<s>", "</s>", "<unk>", "<pad>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>",
  "<|eot_id|>", "<|start_header_id|>", "<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>",
  "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<think>", "</think>", "<tool_call>", "<mask>",
];

export const HARD_CORPUS: string[] = [
  "",
  " ",
  "  ",
  "\n",
  "\t",
  "Hello world",
  " Hello world",
  "Hello  world   with    runs     of      spaces",
  "   leading and trailing   ",
  "tabs\tand\t\ttabs\t\t\tand more\t",
  "windows\r\nline\r\nendings\r\n\r\n",
  "mixed \n\t \r\n  \n\n\n   x",
  "a\n\n\n\n\n\nb",
  "    indented code\n        deeper\n",
  "1234567890",
  "3.14159265358979323846264338327950288419716939937510",
  "12,345,678.90 and -0.001e-10",
  "99999999999999999999999999999999999999999",
  "I'm you're he's she'll we've they'd it's",
  "I'M YOU'RE HE'S SHE'LL WE'VE THEY'D IT'S",
  "don't DON'T Don'T 'tis 'S 'sup ''s '''",
  "rock 'n' roll, the '90s, O'Neil's",
  "def fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
  "const x = { a: [1, 2, 3], b: \"str\" }; // comment\nif (x.a?.length >= 3 && !y) { return `t${x}`; }",
  "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }",
  "SELECT * FROM users WHERE id = 42 AND name LIKE '%o''neil%';",
  "<div class=\"a\"><p>Hi &amp; bye</p></div>",
  "https://example.com/path/to/page?query=1&b=two#fragment",
  "email me at someone.name+tag@example.co.uk or call +1 (555) 123-4567",
  "👩‍👩‍👧‍👦 family, 👍🏽 thumbs, 🏳️‍🌈 flag, 🧑🏿‍💻 coder, ❤️‍🔥",
  "😀😃😄😁😆😅😂🤣 emoji run",
  "🇺🇸🇯🇵🇩🇪 flags",
  "中文文本测试，包括标点符号。还有数字123和English混合。",
  "日本語のテキスト、ひらがなとカタカナ、漢字。",
  "한국어 텍스트 테스트입니다.",
  "مرحبا بالعالم، هذا نص عربي.",
  "שלום עולם",
  "नमस्ते दुनिया, यह हिंदी पाठ है।",
  "Привет, мир! Это русский текст.",
  "Ελληνικά κείμενα ΣΊΣΥΦΟΣ",
  "ไทย ภาษาไทย",
  "naïve café résumé Zürich",
  "nai\u0308ve cafe\u0301 re\u0301sume\u0301 Zu\u0308rich",
  "ﬁ ﬂ ① ² ℌ Ⅻ ｆｕｌｌｗｉｄｔｈ",
  "\u00a0non-breaking\u00a0space\u3000ideographic\u2003em\u2028line\u2029para",
  "zero\u200bwidth\u200cjoiner\u200dchars\u2060",
  "Hello<|endoftext|>world <|endoftext|> bye",
  "<s>inside</s> text <unk> <pad>",
  "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
  "<bos><start_of_turn>user\nhello<end_of_turn>\n<start_of_turn>model\n",
  "<｜begin▁of▁sentence｜>You are helpful.<｜User｜>Hi<｜Assistant｜>",
  "<think>\nhmm\n</think>\n\n<tool_call>{\"name\": \"f\"}</tool_call>",
  "<<|endoftext|>> <|endoftext <|end|> </s/>",
  "Pneumonoultramicroscopicsilicovolcanoconiosis",
  "Supercalifragilisticexpialidocious".repeat(8),
  "a".repeat(500),
  "😀🤖".repeat(150),
  "中文字符".repeat(100) + " and " + "ﬀ".repeat(100),
  "ab".repeat(300),
  "-".repeat(100) + "=".repeat(50),
  " ".repeat(64) + "x",
  "\n".repeat(40),
  "▁leading metaspace ▁▁ and ĠĠ byte-level lookalikes Ċ",
  "ſ's 'ſ K ß ẞ İstanbul ǅ",
  "Mixed中文and English混合text123数字",
  "snake_case camelCase PascalCase kebab-case SCREAMING_CASE",
  "$100.00 €50 £30 ¥1000 ₹500 ₿0.5",
  "∑∫∂√∞≠≤≥±×÷ math ∀x∃y",
  "\u0000\u0001\u0007\u001b[31mred\u001b[0m",
];

/** A small seeded PRNG (mulberry32) so corpora are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAGMENTS = [
  " ", " ", " ", "  ", "\t", "\n", "\r\n", "\n\n", "\u00a0", "\u3000", "\u0085", "\ufeff", "\u000b", "\u2028",
  "the", "The", "THE", " of", " and", "ing", "tion", "hello", " world", "x", "Q",
  "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'", "\"",
  "0", "7", "42", "123", "2024", "3.14", "1e9", "٣", "¾",
  ".", ",", "!", "?", ";", ":", "(", ")", "[", "]", "{", "}", "<", ">", "/", "\\", "-", "_", "=", "+", "*", "&", "#", "@", "%", "$", "^", "`", "~", "|",
  "é", "e\u0301", "ü", "ñ", "ß", "ø", "ł", "ı", "İ",
  "中", "文", "日本", "ひら", "カタ", "한국", "ع", "ربي", "हि", "ंदी", "Пр", "ивет", "Ελ", "ไทย",
  "😀", "👍🏽", "👩‍💻", "🏳️‍🌈", "\u200d", "\ufe0f", "𝐀", "𝟘",
  "▁", "Ġ", "Ċ", "<0x0A>",
  ...SPECIAL_STRINGS,
];

/** `count` random texts of up to `maxFragments` fragments each. */
export function randomTexts(seed: number, count: number, maxFragments: number): string[] {
  const next = rng(seed);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(next() * maxFragments);
    let text = "";
    for (let k = 0; k < n; k++) text += FRAGMENTS[Math.floor(next() * FRAGMENTS.length)];
    texts.push(text);
  }
  return texts;
}
