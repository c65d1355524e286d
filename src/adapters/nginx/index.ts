/**
 * The nginx face: Switchyard deciding, nginx proxying (X-Accel-Redirect).
 * See nginx/README.md for the nginx side and the variants that do not work.
 */
export { createNginxDecideHandler, planNginx, DECIDE_PREFIX, REDIRECT_PREFIX, USAGE_PATH, type NginxDecideOptions, type NginxPlan } from './decide.js';
