"""The assessment's stylesheet: one page on screen (readable from 400 px up: wide tables
scroll in their own box), and on paper Letter or A4 with each part on a new page, table rows
and service cards never split, and the network drawing fitted to the page. No fonts, images
or anything else from outside: the document is one file."""

CSS = """
:root { --ink: #1d1d1f; --muted: #5f6368; --rule: #d0d4d9; --band: #f3f5f7;
  --red: #b3261e; --amber: #8a5a00; --green: #1e6b35; --blue: #1f5f99; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0 auto; max-width: 66rem; padding: 1rem 1.25rem 3rem; color: var(--ink);
  font: 15px/1.45 "Helvetica Neue", Helvetica, Arial, sans-serif; background: #fff; }
h1 { font-size: 2rem; margin: .2rem 0 .4rem; line-height: 1.15; }
h2 { font-size: 1.35rem; margin: 2.2rem 0 .6rem; padding-bottom: .25rem;
  border-bottom: 2px solid var(--ink); }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
p { margin: .45rem 0; }
.kicker { text-transform: uppercase; letter-spacing: .08em; color: var(--muted);
  font-size: .8rem; margin: 0; }
.meta { color: var(--muted); font-size: .88rem; }
.note { color: var(--muted); font-size: .9em; }
.cover { border-bottom: 1px solid var(--rule); padding-bottom: 1rem; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr));
  gap: .5rem; margin: 1rem 0; padding: 0; }
.figures div { background: var(--band); border-radius: 4px; padding: .5rem .7rem; }
.figures dt { font-size: .78rem; color: var(--muted); }
.figures dd { margin: 0; font-size: 1.35rem; font-weight: bold; }
ul.glance { padding-left: 1.2rem; margin: .4rem 0; }
nav ol { columns: 2 14rem; padding-left: 1.4rem; margin: .3rem 0; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: .5rem 0 1rem; }
table { border-collapse: collapse; width: 100%; font-size: .86rem; }
th, td { text-align: left; vertical-align: top; padding: .3rem .45rem;
  border-bottom: 1px solid var(--rule); overflow-wrap: break-word; }
th { background: var(--band); font-weight: bold; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
code { font: .82rem/1.3 "DejaVu Sans Mono", Menlo, Consolas, monospace;
  background: var(--band); padding: 0 .2rem; word-break: break-all; }
.card { border: 1px solid var(--rule); border-left: 5px solid var(--blue); border-radius: 4px;
  padding: .5rem .8rem .6rem; margin: .7rem 0; }
.card.p1 { border-left-color: var(--red); } .card.p2 { border-left-color: var(--amber); }
.card h3 { margin: .1rem 0 .2rem; }
.card table { font-size: .86rem; }
.card th { width: 11rem; background: none; white-space: normal; }
.bad { color: var(--red); font-weight: bold; } .warn { color: var(--amber); font-weight: bold; }
.good { color: var(--green); } .unknown { color: var(--muted); }
.pill { display: inline-block; border-radius: 3px; padding: 0 .3rem; font-size: .78rem;
  font-weight: bold; border: 1px solid currentColor; white-space: nowrap; }
ol.advice { padding-left: 1.6rem; }
ol.advice li { margin: .55rem 0; break-inside: avoid; }
ol.advice .who { color: var(--muted); font-size: .86rem; }
figure.diagram { margin: .5rem 0 1rem; border: 1px solid var(--rule); padding: .4rem; }
figure.diagram svg { display: block; width: 100%; height: auto; max-height: 80vh; }
figure figcaption { font-size: .82rem; color: var(--muted); margin-top: .3rem; }
.software-list { columns: 3 14rem; column-gap: 1.5rem; font-size: .78rem; line-height: 1.3;
  margin: .3rem 0 1rem; padding: 0; list-style: none; }
.software-list li { break-inside: avoid; }
.software-list .v { color: var(--muted); }
footer { margin-top: 2.5rem; font-size: .8rem; color: var(--muted);
  border-top: 1px solid var(--rule); padding-top: .5rem; }
@media (max-width: 520px) {
  body { font-size: 14px; padding: .6rem .7rem 2rem; }
  h1 { font-size: 1.55rem; }
  .card th { width: auto; display: block; border: 0; padding-bottom: 0; }
  .card td { display: block; }
}
@page { size: auto; margin: 15mm 13mm 16mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.6pt; }
  h2 { break-after: avoid; margin-top: 0; }
  h3 { break-after: avoid; }
  section.part { break-before: page; }
  .cover { border: 0; }
  .scroll { overflow: visible; }
  table { font-size: 8.2pt; }
  th, td { padding: .2rem .3rem; }
  thead { display: table-header-group; }
  tr, .card, figure.diagram { break-inside: avoid; }
  figure.diagram svg { max-height: 225mm; }
  .software-list { font-size: 7pt; columns: 4; }
  nav { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""
