"""The people's side of the HTTP service: the decision API, acknowledge links, Slack buttons.

Hooks keep machine credentials (``starter.hooks``); these routers authenticate
people — personal API tokens or OIDC bearer tokens, signed single-use links,
Slack's request signing — and send each decision as the person, with
``verified_by`` saying how they were recognised.
"""
