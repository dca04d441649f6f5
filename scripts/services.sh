# Sourced by scripts/test-all.sh before the stages: installs and starts the servers tests need, on
# 127.0.0.1 only, and exports how to reach them. Nothing yet: intake adds PostgreSQL and S3 here.
:
