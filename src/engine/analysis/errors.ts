// Typed errors for analysis inputs (shapes, empty sets) and for language identification.

/** Inputs of an analysis function do not fit together (shape mismatch, empty set, unknown language...). */
export class AnalysisInputError extends Error {
  readonly code = 'ANALYSIS_INVALID_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'AnalysisInputError';
  }
}

/** The language identifier could not be loaded or run. */
export class LanguageIdError extends Error {
  readonly code = 'LANGUAGE_ID_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'LanguageIdError';
  }
}
