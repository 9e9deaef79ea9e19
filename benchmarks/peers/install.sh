#!/usr/bin/env sh
# Install the peer tools for `python -m benchmarks.run --peers` into a cache folder outside the repo.
# Pinned: serverless v3 (v4 needs a login), serverless-offline 13 (the last line for serverless v3),
# dynalite for DynamoDB, Architect sandbox 8 (9 / architect 12 need node >= 22).
set -eu
DIR="${STRATO_PEERS_DIR:-$HOME/.cache/strato-bench/peers}"
mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || echo '{"name": "strato-bench-peers", "private": true}' > package.json
npm install --no-audit --no-fund --save-exact \
  serverless@3.40.0 \
  serverless-offline@13.9.0 \
  dynalite@4.0.0 \
  @architect/sandbox@8.0.0 \
  @aws-sdk/client-dynamodb@3.687.0 \
  @aws-sdk/lib-dynamodb@3.687.0 \
  @aws-sdk/client-apigatewaymanagementapi@3.687.0 \
  @architect/functions@8.1.9
echo "peers installed in $DIR"
