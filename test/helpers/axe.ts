import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import type { AxeResults, RunOptions } from 'axe-core';

declare global {
  interface Window {
    axe?: { run(context: Element | Document, options: RunOptions): Promise<AxeResults> };
  }
}

const AXE_SCRIPT = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export interface Violation {
  id: string;
  impact: string;
  help: string;
  /** The offending elements' selectors and what is wrong with each. */
  nodes: string[];
}

/**
 * Runs axe-core (WCAG 2.1 A and AA rules) in the page, or in the part `selector` names, and returns
 * the serious and critical violations, readable in a failure message.
 */
export async function seriousViolations(page: Page, selector?: string): Promise<Violation[]> {
  if (!(await page.evaluate(() => window.axe !== undefined))) await page.addScriptTag({ path: AXE_SCRIPT });
  const results = await page.evaluate(async (within) => {
    const context = within ? document.querySelector(within) : document;
    if (!context || !window.axe) throw new Error(`nothing to check at ${within ?? 'document'}`);
    const { violations } = await window.axe.run(context, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      resultTypes: ['violations'],
    });
    return violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact ?? 'unknown',
      help: violation.help,
      nodes: violation.nodes.map((node) => `${node.target.join(' ')}: ${node.failureSummary ?? ''}`),
    }));
  }, selector);
  return results.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}
