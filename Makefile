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

# Tests need Debian packages (never a browser download): installed with apt when make runs as
# root (CI, a fresh container); otherwise one line saying what to install. `make run` needs none.
APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -q
need_debian = if [ "$$(id -u)" = 0 ]; then apt-get update -q && $(APT_INSTALL) $(1); \
	else echo "make test needs the Debian packages: $(1) (as root: apt-get install $(1))" >&2; exit 1; fi

browser:
	@test -x $(CHROMIUM) || { $(call need_debian,chromium); }

# PDFs: regular and bold CJK subsets (GB2312 plus the interface texts, ~2.2 MB each, git-ignored)
# cut with fontTools from Noto Sans SC, which npm installs into build/fonts/ for this step only
# (pinned in fontsrc/; never served, never committed). No root, no apt (see app/fonts.py).
FONT_SOURCES := build/fonts/node_modules/.installed
FONTS := static/fonts/TouchpointCJK-Regular.ttf static/fonts/TouchpointCJK-Bold.ttf
fonts: $(FONTS)

# Both weights come from one run (a stamp rather than a grouped target: macOS ships make 3.81).
$(FONTS): static/fonts/.subsets
	@test -e $@ || (rm -f $< && $(MAKE) -s $<)

$(FONT_SOURCES): fontsrc/package.json fontsrc/package-lock.json
	mkdir -p build/fonts
	cp fontsrc/package.json fontsrc/package-lock.json build/fonts/
	cd build/fonts && npm ci --no-audit --no-fund
	touch $@

static/fonts/.subsets: $(FONT_SOURCES) $(VENV)/.installed app/fonts.py
	$(PY) -m app.fonts
	touch $@

# The poster test reads the rendered PDF back with OCR.
OCR_PACKAGES := tesseract-ocr tesseract-ocr-chi-sim poppler-utils
CHI_SIM ?= /usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata
ocr-tools:
	@command -v tesseract >/dev/null && command -v pdftoppm >/dev/null \
	  && test -e $(CHI_SIM) || { $(call need_debian,$(OCR_PACKAGES)); }

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
	rm -rf $(VENV) node_modules build/fonts static/vendor static/fonts/*.ttf instance/*.db*
