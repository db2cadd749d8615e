# Every target installs what it needs first (virtualenv, package, Chromium): see scripts/install.sh.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PORT ?= 8765

.PHONY: install demo test lint format schema bench clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install.sh
	VENV=$(VENV) bash scripts/install.sh
	@touch $@

## The main job: the HITL example against the bundled demo site.
demo: install
	VENV=$(VENV) DEMO_PORT=$(DEMO_PORT) bash scripts/demo.sh

## Every test (lint first). CI runs this.
test: install lint
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Regenerate schemas/automation.schema.json from the pydantic models.
schema: install
	$(BIN)/python -m schemas.generate

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) runs .mypy_cache .ruff_cache .pytest_cache
