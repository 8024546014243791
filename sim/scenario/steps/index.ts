// The built-in step kinds. Later issues add theirs (eKey presentations, BLE actions) with registerStep().
import { registerEkeySteps } from './ekey.ts';
import { registerManagementSteps } from './manage.ts';
import { registerPhysicalSteps } from './physical.ts';
import { registerTimeSteps } from './time.ts';

let registered = false;

/** Registers the built-in steps once (idempotent). */
export function registerBuiltinSteps(): void {
  if (registered) return;
  registered = true;
  registerPhysicalSteps();
  registerTimeSteps();
  registerManagementSteps();
  registerEkeySteps();
}
