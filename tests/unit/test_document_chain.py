"""The issued documents' hash chain (app/domain/document_chain.py) and their file names."""
import hashlib

from app.domain.document_chain import GENESIS, ChainLink, chain_hash, check_chain, sha256_hex
from app.domain.document_names import download_file_name, export_file_name


def _chain(contents):
    links, previous = [], GENESIS
    for position, content in enumerate(contents, start=1):
        digest = sha256_hex(content)
        previous = chain_hash(previous, digest)
        links.append(ChainLink(position * 10, position, digest, previous, digest))
    return links


def test_chain_hash_is_sha256_of_previous_chain_hash_and_document_hash_as_hex_text():
    digest = hashlib.sha256(b"%PDF-1.4 one").hexdigest()
    assert chain_hash(GENESIS, digest) == hashlib.sha256(("0" * 64 + digest).encode("ascii")).hexdigest()
    assert chain_hash(GENESIS, digest) != chain_hash("1" * 64, digest)


def test_an_intact_chain_has_no_problem_and_returns_its_last_hash():
    links = _chain([b"a", b"b", b"c"])
    count, problems, last = check_chain(links)
    assert (count, problems, last) == (3, [], links[-1].recorded_chain_hash)


def test_one_changed_byte_names_that_document_only():
    links = _chain([b"first", b"second", b"third"])
    changed = links[1]
    links[1] = ChainLink(changed.document_id, changed.position, changed.recorded_sha256, changed.recorded_chain_hash,
                         sha256_hex(b"secomd"))
    _, problems, _ = check_chain(links)
    assert [(p.document_id, p.position) for p in problems] == [(20, 2)]
    assert "SHA-256が発行時の記録と一致しません" in problems[0].reason


def test_bytes_and_recorded_hash_rewritten_together_break_the_chain_at_the_next_link():
    links = _chain([b"first", b"second", b"third"])
    forged = sha256_hex(b"forged")
    links[1] = ChainLink(20, 2, forged, links[1].recorded_chain_hash, forged)
    _, problems, _ = check_chain(links)
    assert [(p.document_id, p.position) for p in problems] == [(20, 2)]
    assert "チェーンハッシュ" in problems[0].reason


def test_a_removed_document_leaves_a_gap_in_positions():
    links = _chain([b"a", b"b", b"c", b"d"])
    del links[1]
    _, problems, _ = check_chain(links)
    assert any("位置 2 の帳票がありません" in p.reason for p in problems)


def test_export_names_follow_the_contract_and_a_cancelled_invoice_gets_its_number():
    assert export_file_name("M0001", "invoice", "2026-10", "pdf") == "M0001_invoice_2026-10.pdf"
    assert export_file_name("M0001", "usage-statement", "2026-10", "xlsx") == "M0001_usage-statement_2026-10.xlsx"
    assert (export_file_name("M0001", "invoice", "2026-10", "pdf", "00000001")
            == "M0001_invoice_2026-10_cancelled-00000001.pdf")
    assert export_file_name("../x y", "invoice", "2026-10", "pdf") == "---x-y_invoice_2026-10.pdf"  # never a path


def test_download_names_are_japanese():
    assert download_file_name("請求書", "M0001", "2026-10", "pdf") == "請求書_M0001_2026-10.pdf"
    assert download_file_name("請求書", "M0001", "2026-10", "xlsx", "00000001") == "請求書_M0001_2026-10_取消00000001.xlsx"
