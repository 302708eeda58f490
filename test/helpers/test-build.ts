// Test-only fault injection is compiled into a test build (scripts/build-options.mjs); code the
// tests load from src/ sees it through this global (src/test-hooks.ts).
(globalThis as { SUBHOST_TEST_HOOKS?: boolean }).SUBHOST_TEST_HOOKS = true;
