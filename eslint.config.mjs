import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['lib/', 'node_modules/', '.data/', '.bench/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits fails where nobody sees it.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }]
    }
  },
  {
    rules: {
      // Tests and benchmarks poke at loosely typed answers; src/ is held to the rule below.
      '@typescript-eslint/no-explicit-any': 'off',
      // `interface ServiceTypes {}` is how Feathers services add themselves (declaration merging).
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'always' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          caughtErrors: 'none'
        }
      ]
    }
  },
  {
    // `any` only where a type leaves no other choice, each disabled on its line with the reason.
    files: ['src/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' }
  },
  { files: ['**/*.{js,cjs,mjs}'], languageOptions: { globals: globals.node } },
  {
    files: ['test/browser/realtime-page/**/*.js'],
    languageOptions: { globals: { ...globals.browser, io: 'readonly', feathers: 'readonly' } }
  },
  prettier
)
