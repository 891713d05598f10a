"""Erasure of personal data: requirements on request, companies by an operator."""
