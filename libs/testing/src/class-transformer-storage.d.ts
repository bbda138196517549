/** class-transformer's metadata storage (where `@Type` is recorded); the package ships no declaration for this entry. */
declare module 'class-transformer/cjs/storage' {
  import type { MetadataStorage } from 'class-transformer/types/MetadataStorage';
  export const defaultMetadataStorage: MetadataStorage;
}
