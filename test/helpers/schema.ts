// The schema checker with ec2-init's modules: the problems of a cloud-config text.
import { MODULES } from '../../src/modules/index.ts';
import { checkCloudConfigText } from '../../src/schema/validate.ts';

export const schemaProblems = (text: string) => checkCloudConfigText(text, MODULES).problems;
