"""`python -m ingest add` and the new formats in the corpus: a copy of the bundled corpus in tmp_path,
real files from shared/formats (VLOS XML, officielebekendmakingen XML, PDF), the hash embedding."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from ingest.__main__ import TURN_FIELDS
from ingest.__main__ import main as ingest_main
from ingest.add import add_document
from ingest.build import corpus_files
from ingest.formats import detect
from ingest.manifest import add_entry, entry_from_meta, load_manifest
from ingest.parse import document_text, parse_document
from kamerbron.errors import CorpusConflictError, DocumentParseError
from kamerbron.settings import ENV_FILE_VARIABLE
from kamerbron.store import IndexStore
from tests.fakes.settings import CORPUS, SHARED_FORMATS, make_settings

FORMATS = SHARED_FORMATS
VLOS = FORMATS / "vlos" / "sample_vlos_dc665b38-00f1-4efe-a39a-1245ddd7e2ef_1378fd61-cf82-4208-a700-021382f839b0.xml"
CASCO = FORMATS / "vlos" / "sample_vlos_be33e3cf-31ba-42ad-803b-a7d6404d3b0c_b5130467-a6c2-4f83-99c3-65ec778e5a24.xml"
LETTER = FORMATS / "pdf" / "P0103D01.pdf"
SCANNED = FORMATS / "pdf" / "P0121D01.pdf"
HANDELINGEN = FORMATS / "handelingen" / "h-tk-20172018-61-10.xml"
DAMAGED = FORMATS / "handelingen" / "damaged" / "h-tk-20172018-70-1.xml"
# Every file of shared/formats that holds text to index, and those that cannot be indexed.
READABLE = sorted(
    p for p in FORMATS.rglob("*") if p.suffix in (".xml", ".pdf") and p not in (CASCO, SCANNED)
    and p.name not in ("h-tk-20172018-70-1.xml", "h-tk-20172018-50-1.xml")
) if FORMATS.is_dir() else []  # fmt: skip

REFUSED = ["cut-verslag.xml", "cut-brief.pdf", DAMAGED.name, "empty.txt", SCANNED.name, CASCO.name]

pytestmark = pytest.mark.skipif(
    not FORMATS.is_dir(), reason=f"{FORMATS} is absent: the real files live beside the repository"
)


def _env(monkeypatch, corpus: Path, index: Path) -> None:
    monkeypatch.setenv("KAMERBRON_PATHS_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("KAMERBRON_PATHS_INDEX_DIR", str(index))
    monkeypatch.setenv("KAMERBRON_EMBEDDING_BACKEND", "hash")
    monkeypatch.setenv(ENV_FILE_VARIABLE, "")


@pytest.fixture(scope="module")
def added(tmp_path_factory):
    """`ingest add` of a VLOS debate, a PDF letter, an officiele XML and files that cannot be indexed
    (cut-off XML and PDF, a Handelingen item without speeches, empty, scanned PDF, Casco skeleton)
    into a copy of the bundled corpus, all at once."""
    root = tmp_path_factory.mktemp("add")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    (root / "empty.txt").write_bytes(b"")
    (root / "cut-verslag.xml").write_bytes(VLOS.read_bytes()[:100_000])
    (root / "cut-brief.pdf").write_bytes(LETTER.read_bytes()[:20_000])
    files = [VLOS, LETTER, HANDELINGEN, root / "cut-verslag.xml", root / "cut-brief.pdf", DAMAGED, root / "empty.txt",
             SCANNED, CASCO]  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        _env(mp, corpus, root / "index")
        code = ingest_main(["add", "--no-progress", *map(str, files)])
    settings = make_settings(root, paths={"corpus_dir": corpus, "index_dir": root / "index"})
    return {"code": code, "out": out.getvalue(), "err": err.getvalue(), "corpus": corpus, "settings": settings}


@pytest.fixture(scope="module")
def indexed(added):
    return IndexStore(added["settings"]).load().chunks


# --- one run of `ingest add` with good and bad files ------------------------------------------------


@pytest.mark.parametrize("path", [VLOS, LETTER, HANDELINGEN], ids=["vlos", "pdf", "officiele"])
def test_readable_file_is_copied_byte_for_byte(added, path):
    assert (added["corpus"] / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize("path", [VLOS, LETTER, HANDELINGEN], ids=["vlos", "pdf", "officiele"])
def test_readable_file_is_indexed(indexed, path):
    assert any(c.source_file == path.name for c in indexed)


def test_bundled_corpus_still_indexed(indexed):
    assert {p.name for p in CORPUS.glob("*.txt")} <= {c.source_file for c in indexed}


@pytest.mark.parametrize("name", REFUSED)
def test_unreadable_file_gives_one_message_naming_it(added, name):
    assert len([line for line in added["err"].splitlines() if line.startswith("kamerbron: ") and name in line]) == 1


@pytest.mark.parametrize("name", REFUSED)
def test_unreadable_file_is_not_copied(added, name):
    assert not (added["corpus"] / name).exists()


def test_refused_files_give_the_parse_exit_code(added):
    assert added["code"] == DocumentParseError.exit_code


def test_scanned_pdf_message_says_why(added):
    assert "kamerbron: P0121D01.pdf: no usable text layer; OCR is not supported" in added["err"]


def test_cut_off_xml_message_says_why(added):
    assert "kamerbron: cut-verslag.xml: not well-formed XML" in added["err"]


def test_no_partial_copy_is_left_behind(added):
    assert [p.name for p in added["corpus"].iterdir() if p.name.startswith(".")] == []


def test_vlos_manifest_entry(added):
    entry = load_manifest(added["corpus"])[VLOS.name]
    assert entry == {
        "doc_type": "debat", "dossier": "31 497", "date": "2025-07-02",
        "title": "Plenaire vergadering Tweede Kamer, 103e vergadering, woensdag 2 juli 2025",
        "url": "https://www.tweedekamer.nl/kamerstukken/plenaire_verslagen/detail/2024-2025/103",
        "status": "Ongecorrigeerd (Tussenpublicatie)",
    }  # fmt: skip


def test_pdf_letter_manifest_entry(added):
    entry = load_manifest(added["corpus"])[LETTER.name]
    assert entry == {"doc_type": "brief", "date": "2013-01-21", "title": "Landelijk kader voor prostitutiebeleid"}


def test_officiele_manifest_entry_has_the_official_link(added):
    entry = load_manifest(added["corpus"])[HANDELINGEN.name]
    assert entry["url"] == "https://zoek.officielebekendmakingen.nl/h-tk-20172018-61-10.html"


def test_existing_manifest_entries_are_kept_verbatim(added):
    before = (CORPUS / "manifest.toml").read_text(encoding="utf-8")
    assert (added["corpus"] / "manifest.toml").read_text(encoding="utf-8").startswith(before)


def test_refused_files_get_no_manifest_entry(added):
    names = set(load_manifest(added["corpus"]))
    assert names & set(REFUSED) == set()


def test_vlos_chunks_carry_status_and_link(indexed):
    chunk = next(c for c in indexed if c.source_file == VLOS.name and c.speaker)
    assert (chunk.status, chunk.url) == (
        "Ongecorrigeerd (Tussenpublicatie)",
        "https://www.tweedekamer.nl/kamerstukken/plenaire_verslagen/detail/2024-2025/103",
    )


def test_pdf_letter_chunks_carry_the_signer(indexed):
    assert {c.surname for c in indexed if c.source_file == LETTER.name} == {"Dettmeijer-Vermeulen"}


def test_summary_line_per_added_file(added):
    assert [line.split(":")[0] for line in added["out"].splitlines() if line.startswith("added:")] == ["added"] * 3


# --- add_document: conflicts, repeats, names ------------------------------------------------------


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    return folder


def test_different_file_of_the_same_name_is_refused_and_kept(corpus, tmp_path):
    (corpus / LETTER.name).write_bytes(b"%PDF-1.4 an older letter")
    manifest = (corpus / "manifest.toml").read_bytes()
    with pytest.raises(CorpusConflictError, match=rf"^{LETTER.name}: a different file of that name"):
        add_document(LETTER, corpus)
    assert ((corpus / LETTER.name).read_bytes(), (corpus / "manifest.toml").read_bytes()) == (
        b"%PDF-1.4 an older letter",
        manifest,
    )


def test_same_file_added_twice_changes_nothing_the_second_time(corpus):
    add_document(VLOS, corpus)
    manifest = (corpus / "manifest.toml").read_bytes()
    again = add_document(VLOS, corpus)
    assert (again.copied, again.entry_written, (corpus / "manifest.toml").read_bytes()) == (False, False, manifest)


def test_a_manifest_entry_written_by_hand_is_kept(corpus):
    with (corpus / "manifest.toml").open("a", encoding="utf-8") as f:
        f.write(f'\n["{LETTER.name}"]\ntitle = "Brief over prostitutiebeleid"\n')
    added = add_document(LETTER, corpus)
    assert (added.entry_written, load_manifest(corpus)[LETTER.name]) == (
        False,
        {"title": "Brief over prostitutiebeleid"},
    )


def test_same_document_id_with_another_extension_is_refused(corpus, tmp_path):
    (corpus / "P0103D01.txt").write_text("Een brief.", encoding="utf-8")
    with pytest.raises(CorpusConflictError, match="document id 'P0103D01' is already used by P0103D01.txt"):
        add_document(LETTER, corpus)


def test_format_is_read_from_the_content_not_the_extension(corpus, tmp_path):
    disguised = tmp_path / "verslag.txt"
    disguised.write_bytes(VLOS.read_bytes())
    assert add_document(disguised, corpus).format == "vlos_xml"


def test_file_name_the_corpus_would_not_list_is_refused(corpus, tmp_path):
    odd = tmp_path / "brief.dat"
    odd.write_bytes(LETTER.read_bytes())
    with pytest.raises(CorpusConflictError, match=r"^brief\.dat: the corpus folder only lists files ending in"):
        add_document(odd, corpus)


def test_refused_file_leaves_the_corpus_as_it_was(corpus):
    before = sorted((p.name, p.read_bytes()) for p in corpus.iterdir())
    with pytest.raises(DocumentParseError):
        add_document(SCANNED, corpus)
    assert sorted((p.name, p.read_bytes()) for p in corpus.iterdir()) == before


def test_manifest_entry_with_quotes_and_backslashes_reads_back(corpus):
    entry = {"title": 'Brief "over" C:\\pad en \x7f einde'}
    assert add_entry(corpus, 'naam "met" aanhalingstekens.txt', entry)
    assert load_manifest(corpus)['naam "met" aanhalingstekens.txt'] == entry


def test_missing_corpus_folder_is_refused(tmp_path):
    with pytest.raises(DocumentParseError, match="corpus folder not found"):
        add_document(LETTER, tmp_path / "nowhere")


# --- every format through the registry ---------------------------------------------------------


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name[:24])
def test_written_manifest_entry_parses_to_the_same_document(path):
    first = parse_document(path, {})
    again = parse_document(path, entry_from_meta(first.meta))
    assert (again.turns, again.meta, again.warnings) == (first.turns, first.meta, first.warnings)


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name[:24])
def test_parse_json_prints_the_turn_fields(path, capsys):
    assert ingest_main(["parse", str(path), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows and all(list(row) == list(TURN_FIELDS) for row in rows)


def test_stats_on_every_readable_format(capsys):
    assert ingest_main(["stats", "--json", *map(str, READABLE)]) == 0
    assert len(json.loads(capsys.readouterr().out)["documents"]) == len(READABLE)


@pytest.mark.parametrize(("path", "name"), [(VLOS, "vlos_xml"), (HANDELINGEN, "officiele_xml"), (LETTER, "pdf")],
                         ids=["vlos", "officiele", "pdf"])  # fmt: skip
def test_registry_detects_the_new_formats(path, name):
    assert detect(path.read_bytes(), source_file=path.name).NAME == name


def test_xml_of_an_unknown_kind_is_refused_naming_the_file():
    raw = b'<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><entry/></feed>'
    with pytest.raises(DocumentParseError, match=r"^feed\.xml: XML of a kind Kamerbron does not read \(root <feed>\)"):
        detect(raw, source_file="feed.xml")


def test_add_to_a_missing_corpus_folder_is_one_message(tmp_path, monkeypatch, capsys):
    _env(monkeypatch, tmp_path / "nowhere", tmp_path / "index")
    code = ingest_main(["add", "--no-progress", str(LETTER), str(VLOS)])
    assert (code, capsys.readouterr().err.count("corpus folder not found")) == (DocumentParseError.exit_code, 1)


def test_corpus_files_lists_xml_and_pdf(tmp_path):
    for name in ("a.txt", "b.md", "c.xml", "d.PDF", "manifest.toml", ".e.pdf.adding"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in corpus_files([tmp_path])] == ["a.txt", "b.md", "c.xml", "d.PDF"]


def test_document_text_of_a_pdf_is_the_text_of_its_turns():
    assert document_text(LETTER) == "\n\n".join(t.text for t in parse_document(LETTER, {}).turns)


def test_text_file_over_20_mb_is_refused_through_the_registry(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("wb") as f:
        f.truncate(20 * 1024 * 1024 + 1)
    with pytest.raises(DocumentParseError, match=r"huge\.txt: text file is 20\.0 MB, over the 20 MB limit"):
        parse_document(path, {})
