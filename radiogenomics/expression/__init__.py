"""Transcriptomics front end: counts to expression, moderated statistics, gene-set scores.

Filled in as the modules land; see the submodules.
"""
