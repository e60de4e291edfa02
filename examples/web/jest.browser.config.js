// `npm run test:browser`: the page in headless Chromium (test/*.browser.ts), apart from `npm test`.
module.exports = { ...require('../../jest.preset.js'), displayName: 'web-browser', testMatch: ['**/test/*.browser.ts'], testTimeout: 600000 };
