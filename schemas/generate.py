"""Write ``schemas/automation.schema.json`` from the models: ``python -m schemas.generate``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from schemas.automation import Automation

SCHEMA_PATH = Path(__file__).with_name("automation.schema.json")


def render_schema() -> str:
    """The JSON Schema of the format, as committed in ``automation.schema.json``."""
    schema = Automation.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Optexity automation"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> int:
    SCHEMA_PATH.write_text(render_schema(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
