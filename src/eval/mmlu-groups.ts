/**
 * Groups of MMLU subjects for leave-subject-group-out cross-validation: each
 * group is held out whole, so the router is scored on kinds of prompts it
 * never saw (no sibling subject of the held-out one is in training either:
 * all of math and physics go together, all of law, ...).
 */

/** Group name → MMLU subjects (the part after `mmlu/`). */
export const MMLU_GROUPS: Readonly<Record<string, readonly string[]>> = {
  'math & physics': [
    'abstract_algebra', 'college_mathematics', 'elementary_mathematics', 'high_school_mathematics', 'high_school_statistics',
    'college_physics', 'high_school_physics', 'conceptual_physics', 'astronomy',
  ],
  'chemistry, biology & medicine': [
    'college_chemistry', 'high_school_chemistry', 'college_biology', 'high_school_biology', 'anatomy', 'clinical_knowledge',
    'college_medicine', 'medical_genetics', 'professional_medicine', 'nutrition', 'virology', 'human_aging',
  ],
  'computing & engineering': ['college_computer_science', 'high_school_computer_science', 'computer_security', 'machine_learning', 'electrical_engineering'],
  law: ['professional_law', 'international_law', 'jurisprudence'],
  'philosophy, ethics & history': [
    'philosophy', 'moral_disputes', 'moral_scenarios', 'logical_fallacies', 'formal_logic', 'world_religions', 'prehistory',
    'high_school_european_history', 'high_school_us_history', 'high_school_world_history',
  ],
  'social sciences & economics': [
    'high_school_psychology', 'professional_psychology', 'sociology', 'human_sexuality', 'high_school_macroeconomics',
    'high_school_microeconomics', 'econometrics', 'high_school_geography', 'high_school_government_and_politics',
    'us_foreign_policy', 'security_studies', 'public_relations',
  ],
  'business & general': ['professional_accounting', 'management', 'marketing', 'business_ethics', 'global_facts', 'miscellaneous'],
};

const BY_SUBJECT = new Map(Object.entries(MMLU_GROUPS).flatMap(([g, subjects]) => subjects.map((s) => [s, g] as const)));

/**
 * The group of a `source` label (`mmlu/professional_law` → `law`); `other` for anything unlisted.
 *
 * @example
 * subjectGroup('mmlu/virology'); // 'chemistry, biology & medicine'
 */
export function subjectGroup(source: string | undefined): string {
  const subject = source?.startsWith('mmlu/') ? source.slice(5) : (source ?? '');
  return BY_SUBJECT.get(subject) ?? 'other';
}
