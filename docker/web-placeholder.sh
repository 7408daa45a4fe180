#!/bin/sh
# web-placeholder.sh DIR: the page served when the web app is not built
# (frontend/ is missing), the same one script/server serves.
set -eu
mkdir -p "$1/assets"
cat >"$1/index.html" <<'HTML'
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Brainstorm</title>
<script type="module" src="/assets/placeholder.js"></script></head>
<body><p>Brainstorm: the web app is not built (frontend/dist is missing).
The API is under <a href="/api/health">/api/</a>.</p></body>
</html>
HTML
printf '%s\n' 'console.log("brainstorm placeholder");' >"$1/assets/placeholder.js"
