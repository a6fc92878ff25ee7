// The wizard's pages, in the console's order: one list for the renderer (navigation, the left rail) and the
// end-to-end tests (which page is showing, from the heading's data-page).

export const WIZARD_PAGES = [
  'selectMediaType',
  'mediaType',
  'security',
  'taskSequence',
  'applications',
  'packages',
  'driverPackages',
  'distributionPoints',
  'customization',
  'summary',
  'progress',
  'completion',
] as const;

export type PageId = (typeof WIZARD_PAGES)[number];
