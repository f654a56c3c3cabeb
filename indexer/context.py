"""The context builder: what goes into the prompt for a completion at a cursor.

`build_context` splits the current file at the cursor and fills the rest of a token budget with
segments from the repository: definitions of the names the file uses (resolved through its
imports), the files it imports and that import it, recently changed and open files, windows of
code lexically similar to the lines before the cursor, and at large budgets whole files by
relevance.

Order is part of the contract, because the engine caches model states by token prefix.
Segments come in two tiers, each sorted by (path, start line), never by score:
1. file-level segments, chosen from signals of the current file as a whole (its identifiers,
   imports, git and editor state), which do not move while the user types in that file;
2. cursor-level segments (definitions of names near the cursor, lexically similar windows),
   which may change with every keystroke; they get a small share of the budget and come last.
So consecutive requests in one file share their prompt up to the cursor tier.

What each signal is worth is one frozen `RankingWeights` (DEFAULT_WEIGHTS unless a caller
passes others); how the cursor's file shares the budget with the rest is `budget.split_budget`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from autan.indexer.budget import split_budget
from autan.indexer.index import RepoIndex
from autan.indexer.lexical import bm25_rank, terms
from autan.indexer.parse import identifiers_in_range
from autan.indexer.secrets import is_secret_file, redact_secrets
from autan.indexer.types import Definition

CountTokens = Callable[[str], int]
NEAR_CURSOR_LINES = 15
QUERY_LINES = 10
MIN_UNRESOLVED_NAME = 5
MIN_FILE_SCORE = 1e-3
MAX_BYTES_PER_TOKEN = 12  # no tokenizer packs more: larger files cannot fit
GRAPH_DEPTH = 3  # import edges followed from the current file


@dataclass(frozen=True)
class RankingWeights:
    """What each signal is worth. Candidates of every kind compete in one greedy selection
    by score (`select`), so the values mean something only relative to each other."""

    # Of the room left after prefix and suffix, the share of the cursor tier. Small, so that
    # more than 90% of the segments stay put while the cursor moves (the engine caches by
    # prompt prefix).
    cursor_share: float = 0.08
    # A definition (in another file) of a name the current file uses: the strongest signal,
    # since it is what the code at the cursor calls.
    file_definition: float = 1.0
    # A definition of a name used within NEAR_CURSOR_LINES of the cursor: twice the file's,
    # since those names are the likeliest in the next line.
    cursor_definition: float = 2.0
    # A definition's body, relative to its signature: the signature says how to call it in
    # a fraction of the tokens, so it is chosen first.
    definition_body: float = 0.6
    # Per import edge beyond the first, for a definition and for a neighbour file: halved,
    # so what is two edges away counts half of what is one edge away.
    import_decay: float = 0.5
    # A definition not reached through the imports, shared by all definitions of the name
    # (divided by their number): a guess, and a worse one the more files define the name.
    unresolved_definition: float = 0.25
    # A file the current file imports: what its code calls into.
    imported: float = 0.8
    # A file that imports the current file: shows how its code is used; less telling than
    # what the file itself uses.
    importer: float = 0.6
    # A file at import-graph distance 1 either way (decayed per further edge): related, but
    # only through the graph.
    import_neighbour: float = 0.4
    # A file recently opened or edited in the editor: the user's working set.
    recent_in_editor: float = 0.5
    # A file changed in the git working tree: work in progress, often on the same task.
    changed_in_tree: float = 0.3
    # A recently committed file, decaying by e every `recent_commit_days`: recent history
    # says less than the working tree, and a month-old commit next to nothing.
    recent_commit: float = 0.15
    recent_commit_days: float = 7.0
    # A file committed together with the current one, growing with the number of such
    # commits up to `co_change_cap`: files that change together belong together.
    co_change: float = 0.45
    co_change_cap: int = 5
    # Times the Jaccard similarity of the identifiers a file shares with the current one:
    # weak, what a large budget fills up with once the strong signals are in.
    shared_identifiers: float = 0.2
    # Times the BM25 score of a window lexically similar to the lines before the cursor:
    # scaled down, so that only a strong lexical match outranks a definition near the
    # cursor.
    similar_window: float = 0.1


DEFAULT_WEIGHTS = RankingWeights()


@dataclass
class Segment:
    path: str
    start_line: int  # 0-based, inclusive
    end_line: int
    kind: str  # file | definition | signatures | window
    text: str
    score: float
    why: str
    tier: int = 0
    tokens: int = 0
    size_hint: int = 0  # bytes, for a file segment whose text is read only if chosen

    def overlaps(self, other: Segment) -> bool:
        """Whether both would show the same lines. A signatures segment is sparse: only a
        whole file covers it."""
        if self.path != other.path:
            return False
        if "signatures" in (self.kind, other.kind):
            return "file" in (self.kind, other.kind) or self.kind == other.kind
        return self.start_line <= other.end_line and other.start_line <= self.end_line


@dataclass
class Context:
    path: str
    prefix: str
    suffix: str
    segments: list[Segment] = field(default_factory=list)
    prefix_tokens: int = 0
    suffix_tokens: int = 0
    budget: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prefix_tokens + self.suffix_tokens + sum(s.tokens for s in self.segments)


def segment_header(path: str) -> str:
    """What a prompt builder puts before a segment; counted in the segment's tokens."""
    return f"# {path}\n"


def split_at_cursor(text: str, line: int, col: int) -> tuple[str, str]:
    """(prefix, suffix) of `text` at 0-based `line`, `col` (characters); clamped to the text."""
    lines = text.split("\n")
    line = max(0, min(line, len(lines) - 1))
    col = max(0, min(col, len(lines[line])))
    offset = sum(len(x) + 1 for x in lines[:line]) + col
    return text[:offset], text[offset:]


def fit_tokens(text: str, cap: int, count: CountTokens, keep_end: bool) -> tuple[str, int]:
    """Cut `text` at line boundaries to at most `cap` tokens, keeping its end (a prefix) or its
    start (a suffix). Cuts by a character estimate, then corrects with exact counts."""
    tokens = count(text)
    while tokens > cap and text:
        keep_chars = max(0, int(len(text) * cap / tokens * 0.95) - 1)
        if keep_end:
            cut = text[len(text) - keep_chars :]
            text = cut[cut.find("\n") + 1 :] if "\n" in cut and keep_chars < len(text) else cut
        else:
            cut = text[:keep_chars]
            text = cut[: cut.rfind("\n") + 1] if "\n" in cut else cut
        tokens = count(text)
    return text, tokens


def build_context(
    index: RepoIndex, path: str, line: int, col: int, budget: int, count: CountTokens,
    open_buffers: Mapping[str, str] | None = None, recent: Sequence[str] = (),
    weights: RankingWeights = DEFAULT_WEIGHTS,
) -> Context:
    """The context for a cursor at 0-based (`line`, `col`) in repository file `path`.

    Reads the index and changes nothing in it (but its caches of file texts), so the caller
    decides what the index holds: the server gives it the editor's buffers, from the
    editor's edits, before it asks (`RepoIndex.update_buffer`). `open_buffers` may hold the
    cursor file's text instead; it is read, not indexed, so the file's own symbols stay the
    ones the index has.
    """
    if is_secret_file(path):  # nothing of a secret file, nor about it, goes to a model
        return Context(path, "", "", [], 0, 0, budget)
    text = cursor_file_text(index, path, open_buffers)
    prefix, suffix = split_at_cursor(text, line, col)
    split = split_budget(budget, repository_context=True)
    suffix, suffix_tokens = fit_tokens(suffix, split.suffix, count, keep_end=False)
    prefix, prefix_tokens = fit_tokens(prefix, split.prefix(suffix_tokens), count,
                                       keep_end=True)
    ctx = Context(path, prefix, suffix, [], prefix_tokens, suffix_tokens, budget)
    room = budget - prefix_tokens - suffix_tokens
    if room <= 0:
        return ctx
    cursor_room = int(room * weights.cursor_share)
    stable = select(index, file_candidates(index, path, recent, weights), room - cursor_room,
                    count, [])
    cursor = select(index, cursor_candidates(index, path, text, line, weights), cursor_room,
                    count, stable)
    key = lambda s: (s.path, s.start_line, s.end_line)  # noqa: E731 - a sort key
    ctx.segments = sorted(stable, key=key) + sorted(cursor, key=key)
    return ctx


def cursor_file_text(index: RepoIndex, path: str,
                     open_buffers: Mapping[str, str] | None) -> str:
    """The cursor file's text: the caller's copy if given, redacted as the index redacts
    what it holds, else the index's."""
    given = (open_buffers or {}).get(path)
    if given is None:
        return index.text_of(path) or ""
    return redact_secrets(given)[0]


def select(index: RepoIndex, candidates: list[Segment], room: int, count: CountTokens,
           taken: list[Segment]) -> list[Segment]:
    """Greedy by score: the best candidates that fit in `room` tokens and overlap nothing
    already chosen (here or in `taken`)."""
    chosen: list[Segment] = []
    for seg in sorted(candidates, key=lambda s: (-s.score, s.path, s.start_line, s.kind)):
        if room <= 0:
            break
        if seg.size_hint and seg.size_hint > room * MAX_BYTES_PER_TOKEN:
            continue  # cannot fit: do not even read it
        if any(seg.overlaps(o) for o in chosen) or any(seg.overlaps(o) for o in taken):
            continue
        if seg.kind == "file" and not seg.text:
            seg.text = index.cached_text(seg.path) or ""
            if not seg.text:
                continue
        seg.tokens = count(segment_header(seg.path) + seg.text)
        if seg.tokens <= room:
            chosen.append(seg)
            room -= seg.tokens
    return chosen


@dataclass
class Hit:
    """A definition worth showing: where it is and how much it matters."""

    path: str
    definition: Definition
    score: float
    why: str


def definition_hits(index: RepoIndex, names: Sequence[str], origin: str,
                    distances: Mapping[str, int], weight: float,
                    weights: RankingWeights = DEFAULT_WEIGHTS) -> list[Hit]:
    """Definitions, outside `origin`, of the names it uses; closer through imports is better.
    `weight` is the tier's (`weights.file_definition` or `weights.cursor_definition`)."""
    hits: list[Hit] = []
    for name in dict.fromkeys(names):
        if name.startswith("__") and name.endswith("__"):
            continue  # dunders are everywhere and say nothing
        found = [(p, d) for p, d in index.definitions.get(name, []) if p != origin]
        for path, d in found:
            dist = distances.get(path)
            if not dist and len(name) < MIN_UNRESOLVED_NAME:
                continue  # `end`, `id`: a short name not reached through imports is noise
            closeness = (weights.import_decay ** (dist - 1) if dist
                         else weights.unresolved_definition / len(found))
            why = f"defines `{name}`" + (f" (import graph distance {dist})" if dist else "")
            hits.append(Hit(path, d, weight * closeness, why))
    return hits


def definition_segments(index: RepoIndex, hits: list[Hit], tier: int,
                        weights: RankingWeights = DEFAULT_WEIGHTS) -> list[Segment]:
    """Per file, one segment of the used definitions' signatures (with their enclosing
    classes, indented as in the file), and one body segment per definition."""
    by_path: dict[str, list[Hit]] = {}
    for hit in hits:
        by_path.setdefault(hit.path, []).append(hit)
    out: list[Segment] = []
    for path, file_hits in by_path.items():
        text = index.cached_text(path)
        if text is None:
            continue
        lines = text.split("\n")
        out.append(signature_segment(index, path, lines, file_hits, tier))
        for hit in file_hits:
            d = hit.definition
            if d.end_line > d.start_line:
                body = "\n".join(lines[d.start_line : d.end_line + 1])
                out.append(Segment(path, d.start_line, d.end_line, "definition", body,
                                   hit.score * weights.definition_body, hit.why, tier))
    return out


def signature_segment(index: RepoIndex, path: str, lines: list[str], hits: list[Hit],
                      tier: int) -> Segment:
    record = index.records[path]
    defs = record.symbols.definitions if record.symbols else []
    wanted: dict[int, Definition] = {}
    for hit in hits:
        d = hit.definition
        wanted[d.start_line] = d
        for outer in defs:  # the enclosing classes, so a method reads in its context
            if outer.name in d.scope.split(".") and outer.start_line < d.start_line <= (
                outer.end_line
            ):
                wanted[outer.start_line] = outer
    rows = []
    for start in sorted(wanted):
        line = lines[start] if start < len(lines) else ""
        indent = line[: len(line) - len(line.lstrip())]
        rows.append(indent + wanted[start].signature)
    best = max(hits, key=lambda h: h.score)
    names = ", ".join(sorted({f"`{h.definition.name}`" for h in hits})[:6])
    why = f"signatures of {names}" + (" (import graph)" if "import graph" in best.why else "")
    return Segment(path, min(wanted), max(wanted), "signatures", "\n".join(rows), best.score,
                   why, tier)


def body_text(index: RepoIndex, path: str, d: Definition) -> str | None:
    text = index.cached_text(path)
    if text is None:
        return None
    return "\n".join(text.split("\n")[d.start_line : d.end_line + 1])


def file_segment(index: RepoIndex, path: str, score: float, why: str) -> Segment:
    """A whole-file candidate; its text is read (and redacted) only if it is chosen."""
    record = index.records[path]
    return Segment(path, 0, max(record.line_count - 1, 0), "file", "", score, why, 0,
                   size_hint=record.size)


def file_candidates(index: RepoIndex, path: str, recent: Sequence[str],
                    weights: RankingWeights = DEFAULT_WEIGHTS) -> list[Segment]:
    """Tier-1 candidates: from the current file as a whole, not from the cursor."""
    w = weights
    record = index.records.get(path)
    names = record.symbols.identifiers if record and record.symbols else []
    distances = index.graph.neighbors(path, GRAPH_DEPTH) if path in index.records else {}
    hits = definition_hits(index, names, path, distances, w.file_definition, w)
    out = definition_segments(index, hits, 0, w)
    scores: dict[str, tuple[float, str]] = {}

    def offer(p: str, score: float, why: str) -> None:
        if score < MIN_FILE_SCORE:  # a year-old commit says nothing about this cursor
            return
        if p != path and p in index.records and score > scores.get(p, (0.0, ""))[0]:
            scores[p] = (score, why)

    for p in index.graph.imports_of(path):
        offer(p, w.imported, "imported by the current file")
    for p in index.graph.importers_of(path):
        offer(p, w.importer, "imports the current file")
    for p, dist in distances.items():
        offer(p, w.import_neighbour * w.import_decay ** (dist - 1),
              f"import graph neighbour at distance {dist}")
    git_candidates(index, path, offer, w)
    for p in recent:
        offer(p, w.recent_in_editor, "recently opened or edited in the editor")
    relevance_candidates(index, path, names, offer, w)
    for p in index.records:  # the rest, nearest folders first, for budgets that hold them
        offer(p, MIN_FILE_SCORE * (1 + 1 / (1 + folder_distance(path, p))), "in the repository")
    out += [file_segment(index, p, score, why) for p, (score, why) in scores.items()]
    return out


def folder_distance(a: str, b: str) -> int:
    """Steps between two files' folders through their common ancestor."""
    pa, pb = a.split("/")[:-1], b.split("/")[:-1]
    common = 0
    while common < min(len(pa), len(pb)) and pa[common] == pb[common]:
        common += 1
    return len(pa) + len(pb) - 2 * common


def git_candidates(index: RepoIndex, path: str, offer: Callable[[str, float, str], None],
                   weights: RankingWeights = DEFAULT_WEIGHTS) -> None:
    git, w = index.git, weights
    if not git.available:
        return
    for p, status in git.changed_files().items():
        offer(p, w.changed_in_tree, f"{status} in the working tree")
    for p, age in git.recent_files().items():
        days = age / 86400
        offer(p, w.recent_commit * math.exp(-days / w.recent_commit_days),
              f"committed {days:.0f} days ago")
    for p, n in git.co_change(path).items():
        offer(p, w.co_change * min(n, w.co_change_cap) / w.co_change_cap,
              f"committed together with the current file {n} times")


def relevance_candidates(index: RepoIndex, path: str, names: Sequence[str],
                         offer: Callable[[str, float, str], None],
                         weights: RankingWeights = DEFAULT_WEIGHTS) -> None:
    """Every other file, scored by the identifiers it shares with the current file: what a
    large budget fills up with once the strong signals are in."""
    mine = set(names)
    if not mine:
        return
    for p, record in index.records.items():
        theirs = set(record.symbols.identifiers) if record.symbols else set()
        shared = len(mine & theirs)
        if shared:
            jaccard = shared / len(mine | theirs)
            offer(p, weights.shared_identifiers * jaccard,
                  f"shares {shared} identifiers with the current file")


def cursor_candidates(index: RepoIndex, path: str, text: str, line: int,
                      weights: RankingWeights = DEFAULT_WEIGHTS) -> list[Segment]:
    """Tier-2 candidates: definitions of names near the cursor and similar code windows."""
    record = index.records.get(path)
    out: list[Segment] = []
    language = record.language if record else None
    if language is not None:
        near = identifiers_in_range(text, language, max(0, line - NEAR_CURSOR_LINES),
                                    line + NEAR_CURSOR_LINES)
        distances = index.graph.neighbors(path, GRAPH_DEPTH)
        hits = definition_hits(index, near, path, distances, weights.cursor_definition,
                               weights)
        for seg in definition_segments(index, hits, 1, weights):
            seg.why += ", used near the cursor"
            out.append(seg)
    query = "\n".join(text.split("\n")[max(0, line - QUERY_LINES) : line + 1])
    out += similar_windows(index, path, query, weights=weights)
    return out


def similar_windows(index: RepoIndex, path: str, query: str, files: int = 20,
                    weights: RankingWeights = DEFAULT_WEIGHTS) -> list[Segment]:
    """BM25 over 20-line windows of the files sharing the most query terms."""
    q = set(terms(query))
    if not q:
        return []
    ranked = sorted(
        ((len(q & index.term_set(p)), p) for p in index.records if p != path),
        key=lambda x: (-x[0], x[1]),
    )
    docs = []
    for shared, p in ranked[:files]:
        if shared:
            docs += index.windows(p)
    out = []
    for score, w in bm25_rank(query, docs, top=10):
        text = "\n".join(index.cached_text(w.path).split("\n")[w.start_line : w.end_line + 1])
        out.append(Segment(w.path, w.start_line, w.end_line, "window", text,
                           weights.similar_window * score,
                           f"similar to the lines before the cursor (bm25 {score:.1f})", 1))
    return out


def diff_context(index: RepoIndex, paths: Sequence[str], budget: int,
                 count: CountTokens, weights: RankingWeights = DEFAULT_WEIGHTS) -> list[Segment]:
    """One repository context for all the files of a diff, to put before each of them.

    The file-level candidates of every changed file compete for the budget, each segment
    keeping its best score; the changed files themselves are left out, since the model reads
    each of them in full and must not see it twice. Sorted by (path, start line), so the
    prompt prefix is the same for every file and is computed once.
    """
    changed = set(paths)
    best: dict[tuple[str, int, int, str], Segment] = {}
    for path in paths:
        for seg in file_candidates(index, path, (), weights):
            key = (seg.path, seg.start_line, seg.end_line, seg.kind)
            if seg.path not in changed and (key not in best or seg.score > best[key].score):
                best[key] = seg
    chosen = select(index, list(best.values()), budget, count, [])
    return sorted(chosen, key=lambda s: (s.path, s.start_line, s.end_line))
