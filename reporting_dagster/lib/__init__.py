"""Pure logic under the Dagster objects: no Dagster imports in this package.

One folder per room: rules, documents, render, requests, delivery, operations, infra (README
"How it is built").
"""
