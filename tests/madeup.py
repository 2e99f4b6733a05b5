"""A copy of the spec with a made-up second operation, for the tests that prove code is per operation.

`archiveNote` (`POST .../{streamId}/archiveNote/{noteId}`) exists on no platform: no code of the
project names it. Routing, validation, generated requests (valid and every invalid kind), the docs
page and the contract checks must all handle it from the spec alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from spec import SPEC_PATH

OPERATION_ID = "archiveNote"
PATH_TEMPLATE = "/caseManagement/api/public/analytics/{streamId}/archiveNote/{noteId}"

_PATH_ITEM = {
    "parameters": [
        {"$ref": "#/components/parameters/StreamId"},
        {
            "name": "noteId",
            "in": "path",
            "required": True,
            "description": "The note to archive.",
            "schema": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"},
        },
    ],
    "post": {
        "operationId": OPERATION_ID,
        "summary": "Archive a note (made up for tests)",
        "tags": ["Tasks"],
        "parameters": [
            {
                "name": "accountId",
                "in": "header",
                "required": True,
                "description": "The account the note belongs to.",
                "schema": {"type": "string"},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/ArchiveNoteRequest"},
                    "examples": {
                        "plain": {"value": {"reason": "duplicate", "keepDays": 30, "mode": "soft"}},
                    },
                }
            },
        },
        "responses": {
            "200": {
                "description": "The archived note.",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/ArchivedNote"},
                        "examples": {
                            "plain": {
                                "value": {
                                    "noteId": "n-1",
                                    "reason": "duplicate",
                                    "keepDays": 30,
                                    "archived": True,
                                }
                            }
                        },
                    }
                },
            },
            "400": {"$ref": "#/components/responses/BadRequest"},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "404": {"$ref": "#/components/responses/NotFound"},
            "405": {"$ref": "#/components/responses/MethodNotAllowed"},
            "413": {"$ref": "#/components/responses/PayloadTooLarge"},
            "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
            "429": {"$ref": "#/components/responses/TooManyRequests"},
        },
        "x-contract-relations": [
            {
                "id": "archive-echo-note-id",
                "kind": "equals",
                "response": "/noteId",
                "request": "/path/noteId",
                "basis": "seed",
                "description": "The archived note is the one the path names.",
            },
            {
                "id": "archive-echo-reason",
                "kind": "equals",
                "response": "/reason",
                "request": "/body/reason",
                "basis": "seed",
                "description": "The answer keeps the reason sent.",
            },
            {
                "id": "archive-is-archived",
                "kind": "constant",
                "response": "/archived",
                "value": True,
                "basis": "seed",
                "description": "An archived note says so.",
            },
        ],
    },
}

_SCHEMAS = {
    "ArchiveNoteRequest": {
        "type": "object",
        "title": "ArchiveNoteRequest",
        "required": ["reason", "keepDays"],
        "properties": {
            "reason": {"type": "string", "minLength": 1, "maxLength": 40},
            "keepDays": {"type": "integer", "minimum": 1, "maximum": 365},
            "mode": {"type": "string", "enum": ["soft", "hard"]},
            "notify": {"type": "boolean"},
        },
    },
    "ArchivedNote": {
        "type": "object",
        "title": "ArchivedNote",
        "required": ["noteId", "reason", "archived"],
        "properties": {
            "noteId": {"type": "string"},
            "reason": {"type": "string"},
            "keepDays": {"type": "integer"},
            "archived": {"type": "boolean"},
        },
    },
}


def write_madeup_spec(directory: Path) -> Path:
    """Copy the spec into `directory` and add the made-up operation; the path of the copy's root file."""
    target = directory / "spec"
    shutil.copytree(SPEC_PATH.parent, target, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.md"))
    root = target / SPEC_PATH.name
    document = yaml.safe_load(root.read_text(encoding="utf-8"))
    document["paths"][PATH_TEMPLATE] = _PATH_ITEM
    document["components"]["schemas"].update(_SCHEMAS)
    root.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return root
