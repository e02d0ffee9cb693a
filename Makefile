# Two commands on a fresh machine: `make run` and `make test`. Every target is safe to repeat.
PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
FLASK   := $(VENV)/bin/flask --app app
CHROMIUM ?= /usr/bin/chromium

.PHONY: setup run serve worker db test lint bench browser translations messages clean fonts ocr-tools

setup: $(VENV)/.installed static/vendor/htmx.min.js translations fonts

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

# htmx comes from the npm registry's htmx.org package, pinned exactly in package.json.
node_modules/.installed: package.json
	npm install --no-audit --no-fund --no-save
	touch $@

static/vendor/htmx.min.js: node_modules/.installed
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel compile --statistics -d app/translations

# Migrate the SQLite database in instance/, load the definitions, seed the demo network.
db: setup
	$(FLASK) db upgrade
	$(FLASK) surveys load --publish
	$(FLASK) demo seed

run: db
	$(FLASK) run --host 127.0.0.1 --port 5000

# Production (README, "Production"): gunicorn on DATABASE_URL (PostgreSQL), REDIS_URL for shared
# rate limits and the job queue, STORAGE_URL for photos. The secret is checked before anything runs.
serve: setup
	@$(PY) -m app.config check-secret
	$(FLASK) db upgrade
	$(FLASK) surveys load
	$(VENV)/bin/gunicorn -c gunicorn.conf.py app.wsgi:app

worker: setup
	$(FLASK) jobs worker

# Debian's Chromium for the browser tests (never a browser download).
browser:
	@test -x $(CHROMIUM) || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

# PDFs: one CJK subset font (GB2312, ~2.7 MB, git-ignored) cut with fontTools from Debian's
# fonts-noto-cjk; WeasyPrint loads it by @font-face (see app/fonts.py for why).
NOTO_CJK := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
fonts: static/fonts/TouchpointCJK-Regular.otf

static/fonts/TouchpointCJK-Regular.otf: $(VENV)/.installed app/fonts.py
	@test -e $(NOTO_CJK) || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk)
	$(PY) -m app.fonts

# The poster test reads the rendered PDF back with OCR (Debian packages, never downloads).
ocr-tools:
	@command -v tesseract >/dev/null && command -v pdftoppm >/dev/null \
	  && test -e /usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata \
	  || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	      tesseract-ocr tesseract-ocr-chi-sim poppler-utils)

test: setup browser ocr-tools
	$(PY) -m pytest

# Benchmarks print their figures (never timed assertions in tests).
bench: setup
	$(PY) -m bench

lint: setup
	$(VENV)/bin/ruff check app tests bench

messages: setup
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -o app/translations/messages.pot .
	$(VENV)/bin/pybabel update -i app/translations/messages.pot -d app/translations

clean:
	rm -rf $(VENV) node_modules static/vendor instance/*.db*
