"""The CI files `ci export` writes: the plan (plan.py), a GitHub Actions workflow (github.py), a GitLab CI
pipeline (gitlab.py), both built as plain data and turned into YAML in one place (text.py). All pure."""
