"""The hash chain of issued documents (電子帳簿保存法: the record shows that no issued document was
changed or removed afterwards; docs/documents.md).

Each document's chain hash is the SHA-256 of the previous document's chain hash followed by the
document's own SHA-256, both as 64 lowercase hex characters (ASCII). The first document follows
GENESIS (64 zeros). Changing one byte of any stored document changes its SHA-256; rewriting that
hash too breaks the chain hash of that document and of every later one.
"""
import hashlib
from dataclasses import dataclass
from collections.abc import Iterable

GENESIS = "0" * 64


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def chain_hash(previous_chain_hash: str, document_sha256: str) -> str:
    return hashlib.sha256((previous_chain_hash + document_sha256).encode("ascii")).hexdigest()


@dataclass(frozen=True)
class ChainLink:
    """What is stored for one document: its place, the SHA-256 recorded for it, its chain hash, and the
    SHA-256 of the bytes as they are now."""
    document_id: int
    position: int
    recorded_sha256: str
    recorded_chain_hash: str
    content_sha256: str | None  # None: the bytes are gone


@dataclass(frozen=True)
class ChainProblem:
    document_id: int
    position: int | None
    reason: str  # Japanese


def check_chain(links: Iterable[ChainLink]) -> tuple[int, list[ChainProblem], str]:
    """Walk the links in position order: (links checked, problems, the last chain hash as recomputed).

    A document is named when its bytes no longer match the recorded SHA-256, when its recorded chain
    hash does not follow from the previous one, or when positions are missing (a document removed)."""
    problems: list[ChainProblem] = []
    previous = GENESIS
    expected_position = 1
    count = 0
    for link in links:
        count += 1
        if link.position != expected_position:
            problems.append(ChainProblem(link.document_id, link.position,
                                         f"チェーンの位置 {expected_position}"
                                         + (f"〜{link.position - 1}" if link.position > expected_position + 1 else "")
                                         + " の帳票がありません（削除された可能性があります）"))
        expected_position = link.position + 1
        if link.content_sha256 is None:
            problems.append(ChainProblem(link.document_id, link.position, "内容（バイト列）がありません"))
        elif link.content_sha256 != link.recorded_sha256:
            problems.append(ChainProblem(link.document_id, link.position,
                                         "内容のSHA-256が発行時の記録と一致しません（内容が変更されています）"))
        recomputed = chain_hash(previous, link.recorded_sha256)
        if recomputed != link.recorded_chain_hash:
            problems.append(ChainProblem(link.document_id, link.position,
                                         "チェーンハッシュが前の帳票からの計算と一致しません（この帳票または"
                                         "チェーンで前の帳票の記録されたハッシュが書き換えられています）"))
        # go on from the recorded value: one rewritten hash names its document, not every later one
        previous = link.recorded_chain_hash
    return count, problems, previous
