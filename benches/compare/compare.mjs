// Side by side, in one run, on tests/fixtures/corpus: accuracy and files/s
// of `introbot inspect forward|reply` and of the npm packages
// email-forward-parser, planer (a port of Mailgun's talon) and
// email-reply-parser. Scoring is the same for all, and the same as
// tests/corpus.rs: every asserted field of forwards; the visible reply text,
// whitespace-normalized, with signatures and mobile footers removed from the
// expectation (introbot strips them before deciding; talon keeps them).
//
// Run: bash scripts/bench-compare   (installs the npm packages first)
import { readFileSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { simpleParser } from "mailparser";

const require = createRequire(import.meta.url);
const EmailForwardParser = require("email-forward-parser").default;
const planer = require("planer");
const EmailReplyParser = require("email-reply-parser").default;

const root = new URL("../..", import.meta.url).pathname;
const corpus = join(root, "tests/fixtures/corpus");
const introbot = process.env.INTROBOT_BIN || join(root, "target/release/introbot");
const REPEAT = Number(process.env.REPEAT || 20);

const norm = (s) => (s || "").split(/\s+/).filter(Boolean).join(" ");
const jsonl = (f) => readFileSync(f, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const people = (list) => (list || []).map((p) => ({ name: p.name || null, address: p.address || p.email || null }));
// Compared as JSON with sorted keys: expectations written by serde_json list
// a person's keys in another order than the corpus's.
const canonical = (v) =>
  Array.isArray(v) ? v.map(canonical) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])])) : v;
const same = (a, b) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

function scoreForward(expected, got) {
  // got: { forwarded, note, from: {name, address}, to, cc, subject, date, body }
  let ok = 0;
  for (const field of expected.asserted) {
    const o = expected.original || {};
    let want, have;
    switch (field) {
      case "forwarded": want = expected.forwarded; have = got.forwarded; break;
      case "forwarder_note": want = expected.forwarder_note ? norm(expected.forwarder_note) : null; have = norm(got.note) || null; break;
      case "original.body": want = norm(o.body); have = norm(got.body); break;
      case "original.subject": want = o.subject; have = got.subject || ""; break;
      case "original.from_email": want = o.from_email; have = got.from?.address || null; break;
      case "original.from_name": want = o.from_name; have = got.from?.name || null; break;
      case "original.date_nonempty": want = o.date_nonempty; have = !!got.date; break;
      case "original.to": want = o.to; have = people(got.to); break;
      case "original.cc": want = o.cc; have = people(got.cc); break;
      case "original.to_addresses": want = o.to_addresses; have = people(got.to).map((p) => p.address); break;
      default: continue;
    }
    if (same(want, have)) ok++;
  }
  return { ok, total: expected.asserted.length };
}

function withoutSignature(text) {
  let lines = (text || "").split("\n");
  const sig = lines.findIndex((l) => l === "-- " || l.trimEnd() === "--");
  if (sig >= 0) lines = lines.slice(0, sig);
  while (lines.length) {
    const l = lines[lines.length - 1].trim().toLowerCase();
    if (l === "" || l.startsWith("sent from my") || l.startsWith("get outlook for")) lines.pop();
    else break;
  }
  return lines.join("\n");
}

async function load(kind, base = corpus) {
  const dir = join(base, kind);
  const rows = jsonl(join(dir, "expected.jsonl"));
  const items = [];
  for (const row of rows) {
    const raw = readFileSync(join(dir, row.file));
    const mail = await simpleParser(raw);
    items.push({ row, path: join(dir, row.file), text: mail.text || "", subject: mail.subject || "" });
  }
  return items;
}

// Text only: the parser on bodies mailparser already extracted.
function timeJs(items, fn) {
  const t0 = process.hrtime.bigint();
  let out;
  for (let r = 0; r < REPEAT; r++) out = items.map(fn);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { out, rate: (items.length * REPEAT) / secs };
}

// From the file, as introbot is timed: read it, parse the MIME with
// mailparser, then the parser. Fewer passes: mailparser is the slow part.
async function timeJsFromFile(items, fn) {
  const passes = Math.max(1, Math.floor(REPEAT / 4));
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < passes; r++) {
    for (const it of items) {
      const mail = await simpleParser(readFileSync(it.path));
      fn({ text: mail.text || "", subject: mail.subject || "" });
    }
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return (items.length * passes) / secs;
}

function timeIntrobot(kind, items, jobs, repeat = REPEAT) {
  const files = [];
  for (let r = 0; r < repeat; r++) for (const it of items) files.push(it.path);
  const args = ["inspect", ...(jobs ? ["--jobs", String(jobs)] : []), kind, ...files];
  const t0 = process.hrtime.bigint();
  const stdout = execFileSync(introbot, args, { maxBuffer: 1 << 30 }).toString();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = stdout.split("\n").filter(Boolean).slice(0, items.length).map((l) => JSON.parse(l));
  return { out, rate: files.length / secs };
}

const forwards = await load("forward");
const replies = await load("replies");
const results = [];

// rates: { textOnly, fromFile } files/s, where measured.
function report(name, items, run, score, rates = {}) {
  let ok = 0, total = 0, filesOk = 0;
  items.forEach((it, i) => {
    const s = score(it.row, run.out[i]);
    ok += s.ok; total += s.total; if (s.ok === s.total) filesOk++;
  });
  results.push({ name, files: `${filesOk}/${items.length}`, fields: `${ok}/${total}`, ...rates });
}

const fmt = (n) => (n ? Math.round(n).toLocaleString("en") : "");

// Forwards.
const scoreIntrobotForward = (row, g) =>
  scoreForward(row, {
    forwarded: g.forwarded, note: g.note, body: g.original?.body, subject: g.original?.subject, date: g.original?.date,
    from: g.original?.from ? { name: g.original.from.name, address: g.original.from.email } : null,
    to: (g.original?.to || []).map((p) => ({ name: p.name, address: p.email })),
    cc: (g.original?.cc || []).map((p) => ({ name: p.name, address: p.email })),
  });
const scoreEfp = (row, r) =>
  scoreForward(row, {
    forwarded: r.forwarded, note: r.message, body: r.email?.body, subject: r.email?.subject, date: r.email?.date,
    from: r.email?.from, to: r.email?.to, cc: r.email?.cc,
  });
const efp = (it) => new EmailForwardParser().read(it.text, it.subject);
for (const jobs of [undefined, 1]) {
  const run = timeIntrobot("forward", forwards, jobs);
  report(`introbot inspect ${jobs ? `--jobs ${jobs} ` : ""}forward`, forwards, run, scoreIntrobotForward, { fromFile: run.rate });
}
{
  const run = timeJs(forwards, efp);
  report("email-forward-parser", forwards, run, scoreEfp, { textOnly: run.rate, fromFile: await timeJsFromFile(forwards, efp) });
}

// Replies.
const replyScore = (row, text) => {
  const ok = norm(text) === norm(withoutSignature(row.expected_reply_text)) ? 1 : 0;
  return { ok, total: 1 };
};
const scoreIntrobotReply = (row, g) => replyScore(row, g.reply_text);
for (const jobs of [undefined, 1]) {
  const run = timeIntrobot("reply", replies, jobs);
  report(`introbot inspect ${jobs ? `--jobs ${jobs} ` : ""}reply`, replies, run, scoreIntrobotReply, { fromFile: run.rate });
}
const pl = (it) => planer.extractFrom(it.text, "text/plain");
const erp = (it) => new EmailReplyParser().read(it.text).getVisibleText();
for (const [name, fn] of [["planer (talon port)", pl], ["email-reply-parser", erp]]) {
  const run = timeJs(replies, fn);
  report(name, replies, run, replyScore, { textOnly: run.rate, fromFile: await timeJsFromFile(replies, fn) });
}

console.log("| parser | files fully right | fields right | files/s, text only | files/s, from the file |");
console.log("| --- | --- | --- | --- | --- |");
for (const r of results) console.log(`| ${r.name} | ${r.files} | ${r.fields} | ${fmt(r.textOnly)} | ${fmt(r.fromFile)} |`);

// Accuracy alone on sets beyond the shared corpus: tests/fixtures/clients
// (formats the corpus has no sample of, written by us after each client's
// format), tests/fixtures/charsets (legacy charsets) and, when
// scripts/bench-compare wrote it, the golden mails of every client × locale
// row of src/mail/history/locales.tsv (GOLDEN_DIR).
const once = (items, fn) => ({ out: items.map(fn) });
const sets = [
  ["tests/fixtures/clients", join(root, "tests/fixtures/clients")],
  ["tests/fixtures/charsets", join(root, "tests/fixtures/charsets")],
];
if (process.env.GOLDEN_DIR) sets.push(["golden client × locale rows", process.env.GOLDEN_DIR]);
for (const [title, base] of sets) {
  const setForwards = await load("forward", base);
  const setReplies = await load("replies", base);
  results.length = 0;
  report("introbot inspect forward", setForwards, timeIntrobot("forward", setForwards, undefined, 1), scoreIntrobotForward);
  report("email-forward-parser", setForwards, once(setForwards, efp), scoreEfp);
  report("introbot inspect reply", setReplies, timeIntrobot("reply", setReplies, undefined, 1), scoreIntrobotReply);
  report("planer (talon port)", setReplies, once(setReplies, pl), replyScore);
  report("email-reply-parser", setReplies, once(setReplies, erp), replyScore);
  console.log(`\n${title} (accuracy only):\n`);
  console.log("| parser | files fully right | fields right |");
  console.log("| --- | --- | --- |");
  for (const r of results) console.log(`| ${r.name} | ${r.files} | ${r.fields} |`);
}
