"""The searchable form of a corpus: passages for BM25, sentences for quoting, companies for routing. This module
is the way in (`open_index`, `reload_index`, `build_index`, `Index`); each job has its own module:

- `index_model`: what an index holds, and its lookups (`Index`, the texts, the release list);
- `passages`: splitting a release into sentences (with their kinds) and passages;
- `companies`: the company directory, and everything about naming a company (tickers, definitions, suffixes);
- `index_runs`: split releases packed as arrays, the unit the build moves and appends;
- `index_build`: the parallel, incremental build;
- `index_file`: the file format (memory-mapped on load);
- `index_cache`: the cache of index files, and the corpus signatures that let an unchanged corpus skip hashing.

Built once per corpus content and cached on disk (keyed by a fingerprint of the files, INDEX_VERSION and a digest
of the indexing code), so a second start on an unchanged corpus loads in a fraction of a second instead of
re-splitting every release: the big arrays and the release texts are memory-mapped, not read. The build
streams the corpus through worker processes, so only arrays and metadata are ever held. When the corpus changes,
the new index takes over every release the previous one already held (matched by a hash of its text and naming
metadata) and splits only the new ones. Nothing in bot/ but its callers outside the index imports this module.
"""
from __future__ import annotations

from .companies import (DEFINED_AS, LEGAL_SUFFIXES, CompanyDirectory, CompanyFacts, build_companies, company_facts,
                        company_key, issuer_names, tag_name)
from .index_build import BATCH, IN_PROCESS, build_index, release_digest
from .index_cache import Loaded, corpus_signature, default_cache_dir, open_index, reload_index
from .index_file import INDEX_VERSION, MAGIC, StaleIndex, code_digest, load_index, read_header, save_index
from .index_model import DerivedCache, Index, ReleaseList, Texts
from .passages import ABOUT, BODY, BOILERPLATE, CONTACT, LEAD, LEGAL, TITLE, ReleaseParts, split_release

__all__ = ["DEFINED_AS", "LEGAL_SUFFIXES", "CompanyDirectory", "CompanyFacts", "build_companies", "company_facts",
           "company_key", "issuer_names", "tag_name", "BATCH", "IN_PROCESS", "build_index", "release_digest",
           "Loaded", "corpus_signature", "default_cache_dir", "open_index", "reload_index", "INDEX_VERSION", "MAGIC",
           "StaleIndex", "code_digest", "load_index", "read_header", "save_index", "DerivedCache", "Index",
           "ReleaseList", "Texts", "ABOUT", "BODY", "BOILERPLATE", "CONTACT", "LEAD", "LEGAL", "TITLE",
           "ReleaseParts", "split_release"]
