/**
 * The built-in configuration, used when no file is given. It is YAML in a TS
 * string so `tsc` output carries it (no asset copying) and so it doubles as
 * a commented starting point (`switchyard` can print it for `init`).
 * Prices are USD per 1M tokens.
 */

/**
 * The embedded default configuration as YAML; parse it with `defaultConfig()`
 * from `./load.js`.
 *
 * @example
 * writeFileSync('switchyard.yaml', DEFAULT_CONFIG_YAML);
 */
export const DEFAULT_CONFIG_YAML = `# Switchyard configuration. API keys are never written here: each upstream
# names the environment variable holding its key (apiKeyEnv), read at call
# time; an upstream whose variable is unset is skipped.
server:
  host: 127.0.0.1
  port: 8080

upstreams:
  - name: openai
    kind: openai-compatible
    baseUrl: https://api.openai.com/v1
    apiKeyEnv: OPENAI_API_KEY
    embeddings: true
    models:
      - { name: gpt-4o-mini, contextWindow: 128000, maxOutputTokens: 16384, inputPricePer1M: 0.15, outputPricePer1M: 0.60 }
      - { name: gpt-4o, contextWindow: 128000, maxOutputTokens: 16384, inputPricePer1M: 2.50, outputPricePer1M: 10.00 }

  - name: anthropic
    kind: anthropic
    baseUrl: https://api.anthropic.com/v1
    apiKeyEnv: ANTHROPIC_API_KEY
    models:
      - { name: claude-3-5-haiku-latest, contextWindow: 200000, maxOutputTokens: 8192, inputPricePer1M: 0.80, outputPricePer1M: 4.00 }
      - { name: claude-sonnet-4-5, contextWindow: 200000, maxOutputTokens: 64000, inputPricePer1M: 3.00, outputPricePer1M: 15.00 }

  # The llama.cpp sidecar (switchyard sidecar). Local: allowed for private requests.
  - name: local
    kind: openai-compatible
    baseUrl: \${SWITCHYARD_LOCAL_URL:-http://127.0.0.1:8081/v1}
    local: true
    models:
      - { name: local-llama, contextWindow: 8192, inputPricePer1M: 0, outputPricePer1M: 0 }

tiers:
  - { name: local, models: [local-llama] }
  - { name: small, models: [gpt-4o-mini, claude-3-5-haiku-latest] }
  - { name: frontier, models: [gpt-4o, claude-sonnet-4-5] }

# When a model fails, try the same class of model at the other cloud. Chains
# are followed transitively (A -> B -> C) and must not loop, so each pair goes
# one way; the tiers above already list both clouds for switchyard/auto.
# local-llama has no fallback on purpose: private requests must not leave the host.
fallbacks:
  gpt-4o: [claude-sonnet-4-5]
  gpt-4o-mini: [claude-3-5-haiku-latest]

defaultModel: gpt-4o-mini
embeddingsUpstream: openai

# switchyard/auto: the complexity score walks the ladder (< 0.25 local,
# < 0.70 small, else frontier); requests with tools go to frontier; requests
# carrying e-mail addresses, card numbers, keys... stay on local upstreams.
# Without this section switchyard/auto goes to defaultModel.
routing:
  ladder: [local, small, frontier]
  thresholds: [0.25, 0.70]
  agenticTier: frontier
`;
