"""Synthetic CRM + marketing-automation data (``leadscore generate``).

The implementation lives in :mod:`lead_scoring.generate.synthetic`; the word lists and
distributions in :mod:`lead_scoring.generate.vocab`.
"""

from lead_scoring.generate.synthetic import add_subparser, generate

__all__ = ["add_subparser", "generate"]
