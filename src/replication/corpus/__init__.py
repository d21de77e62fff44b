"""Corpora, tokenizers and the token streams the trainer samples from.

``documents`` reads a corpus spec (``kjv``, ``debian-docs``, ``files:<glob>``, ``hf:<name>``) into
documents and splits them by document (``debian`` and ``markup``: Debian's manuals fetched by ``make corpus``,
cleaned to text); ``tokenizers`` turns text into ids (bytes or SentencePiece); ``streams`` builds and
caches the train and validation token streams of a run; ``units`` measures bytes per SentencePiece token,
to read a byte-level study in Chinchilla's subword tokens.
"""
from replication.corpus.documents import (DEFAULT_CORPUS, Document, check_corpus, corpus_hash, hf_documents,
                                          kjv_documents, load_documents, split_documents)
from replication.corpus.streams import DATA_VERSION, TokenData, load_data
from replication.corpus.tokenizers import (BOS_ID, EOS_ID, PAD_ID, SPECIALS, UNK_ID, BytesTokenizer,
                                           SentencePieceTokenizer, parse_tokenizer)
from replication.corpus.units import bytes_per_token

__all__ = [
    "DATA_VERSION", "DEFAULT_CORPUS", "BOS_ID", "EOS_ID", "PAD_ID", "SPECIALS", "UNK_ID", "BytesTokenizer",
    "Document", "SentencePieceTokenizer", "TokenData", "check_corpus", "corpus_hash", "hf_documents",
    "kjv_documents", "load_data", "load_documents", "parse_tokenizer", "split_documents",
    "bytes_per_token",
]
