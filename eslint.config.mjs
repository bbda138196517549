import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

/**
 * Module boundaries that block: apps never import apps; contracts depend on
 * nothing heavier than contracts; the libraries (messaging, persistence) know
 * nothing of this platform (its contracts, its plumbing); plumbing libs never
 * reach into apps; the storefront client (libs/client) depends on contracts
 * and DTOs only.
 */
export default [
  { ignores: ['**/dist/**', '**/dist-test/**', '**/node_modules/**', '**/*.js', '**/*.mjs'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@nx': nx, '@typescript-eslint': tseslint.plugin },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:contracts', 'type:library', 'type:plumbing', 'type:testing', 'type:client'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:contracts', 'type:library', 'type:plumbing', 'type:testing', 'type:client'] },
            { sourceTag: 'type:plumbing', onlyDependOnLibsWithTags: ['type:contracts', 'type:library', 'type:plumbing', 'type:testing'] },
            // a library's tests may use the test helpers; nothing of the platform otherwise
            { sourceTag: 'type:library', onlyDependOnLibsWithTags: ['type:library', 'type:testing'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:contracts', 'type:testing'] },
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'] },
            // the storefront client (Node and browsers): types from the DTOs and contracts only, nothing server-side
            { sourceTag: 'type:client', onlyDependOnLibsWithTags: ['type:contracts'] },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
];
