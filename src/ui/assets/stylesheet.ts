/**
 * The status page's only stylesheet. Status is told by words and a symbol first; colour only
 * repeats it. Text colours keep at least 4.5:1 contrast on their background. Below 40rem the
 * lock table becomes one card per lock, so nothing scrolls sideways on a phone.
 */
export const STYLESHEET = `
:root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --panel: #f6f8fa;
  --link: #0550ae; --focus: #0969da;
  --held: #1a7f37; --held-bg: #dafbe1; --expired: #9a6700; --expired-bg: #fff8c5; --free: #57606a; --free-bg: #eaeef2;
  --danger: #b42318; --danger-fg: #ffffff; --error-bg: #ffebe9;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9da7b3; --line: #30363d; --panel: #161b22;
    --link: #79c0ff; --focus: #58a6ff;
    --held: #56d364; --held-bg: #12261e; --expired: #e3b341; --expired-bg: #272115; --free: #9da7b3; --free-bg: #21262d;
    --danger: #f85149; --danger-fg: #0d1117; --error-bg: #2d1214;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em; overflow-wrap: anywhere; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.skip-link { position: absolute; left: 0.5rem; top: -3rem; background: var(--bg); padding: 0.5rem; z-index: 1; }
.skip-link:focus { top: 0.5rem; }
.top { display: flex; align-items: center; justify-content: space-between; gap: 1rem; padding: 0.75rem 1rem; border-bottom: 1px solid var(--line); background: var(--panel); }
.brand { font-weight: 700; color: var(--fg); text-decoration: none; }
.brand-sub { font-weight: 400; color: var(--muted); }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
main:focus { outline: none; }
h1 { font-size: 1.5rem; margin: 0.5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; }
button { font: inherit; padding: 0.4rem 0.9rem; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); color: var(--fg); cursor: pointer; min-height: 2.5rem; }
button.danger { background: var(--danger); color: var(--danger-fg); border-color: var(--danger); font-weight: 600; }
button[disabled] { opacity: 0.6; cursor: progress; }
input { font: inherit; padding: 0.4rem 0.6rem; border: 1px solid var(--muted); border-radius: 6px; background: var(--bg); color: var(--fg); min-height: 2.5rem; min-width: 0; }
.filter, .token-form { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; margin-bottom: 1rem; }
.filter input { flex: 1 1 12rem; max-width: 24rem; }
.token-form input { flex: 1 1 16rem; }
.token-form label, .filter label { font-weight: 600; }
.sign-in { border: 1px solid var(--line); border-radius: 8px; padding: 0 1rem 0.5rem; margin-bottom: 1rem; background: var(--panel); }
.notice { padding: 0.5rem 0.75rem; border-left: 4px solid var(--muted); background: var(--panel); margin: 0.5rem 0; }
.notice-error { border-left-color: var(--danger); background: var(--error-bg); }
#notice:empty { display: none; }
#notice { padding: 0.5rem 0.75rem; border-left: 4px solid var(--muted); background: var(--panel); margin: 0.5rem 0; }
#notice .notice { border: 0; padding: 0; margin: 0; background: none; }
.viewer, .summary, .refresh { color: var(--muted); margin: 0.25rem 0 0.75rem; }
.viewer strong { color: var(--fg); }
.issuer { overflow-wrap: anywhere; }
.empty { font-style: italic; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.5rem 0.6rem; border-bottom: 1px solid var(--line); }
thead th { font-size: 0.85rem; color: var(--muted); font-weight: 600; border-bottom-width: 2px; }
tbody th { font-weight: 600; overflow-wrap: anywhere; }
.status { display: inline-block; padding: 0 0.5rem; border-radius: 999px; font-weight: 600; white-space: nowrap; border: 1px solid currentColor; }
.status-held { color: var(--held); background: var(--held-bg); }
.status-expired { color: var(--expired); background: var(--expired-bg); }
.status-free, .status-unknown { color: var(--free); background: var(--free-bg); }
.slots { display: block; font-size: 0.85rem; color: var(--muted); }
.holder { font-weight: 600; overflow-wrap: anywhere; white-space: pre-wrap; }
.subject { display: block; color: var(--muted); font-size: 0.9rem; overflow-wrap: anywhere; }
.none { color: var(--muted); }
hr.between-holds { border: 0; border-top: 1px dashed var(--line); margin: 0.35rem 0; }
.countdown { font-variant-numeric: tabular-nums; font-weight: 600; white-space: nowrap; }
.countdown.is-expired { color: var(--expired); }
.elapsed { font-variant-numeric: tabular-nums; }
time { white-space: nowrap; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: 0.75rem 1.5rem; margin: 0 0 1rem; }
.facts > div { border-bottom: 1px solid var(--line); padding-bottom: 0.5rem; min-width: 0; }
.facts dt { font-size: 0.85rem; color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.actions { margin: 1rem 0; }
dialog { max-width: min(34rem, calc(100vw - 2rem)); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; color: var(--fg); background: var(--bg); }
dialog::backdrop { background: rgb(0 0 0 / 0.45); }
dialog h2 { margin-top: 0; overflow-wrap: anywhere; }
dialog strong { overflow-wrap: anywhere; white-space: pre-wrap; }
.dialog-actions { display: flex; flex-wrap: wrap; justify-content: flex-end; gap: 0.5rem; margin-top: 1rem; }
@media (max-width: 40rem) {
  main { padding: 0.75rem; }
  table.locks thead, table.holders thead, table.queue thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.locks, table.locks tbody, table.locks tr, table.locks th, table.locks td,
  table.holders, table.holders tbody, table.holders tr, table.holders td,
  table.queue, table.queue tbody, table.queue tr, table.queue td { display: block; width: 100%; }
  table.locks tr, table.holders tr, table.queue tr { border: 1px solid var(--line); border-radius: 8px; margin-bottom: 0.75rem; padding: 0.25rem 0; }
  table.locks th, table.locks td, table.holders td, table.queue td { border: 0; padding: 0.25rem 0.75rem; }
  table.locks td[data-label]:not([data-label=""])::before, table.holders td::before, table.queue td::before {
    content: attr(data-label); display: block; font-size: 0.8rem; color: var(--muted);
  }
  table.locks tbody th { font-size: 1.05rem; }
  /* A free lock's empty columns say nothing on a card. */
  table.locks td:has(> .none:only-child) { display: none; }
}
`;
